"""``vodstack assets show ID``: the asset as a person reads it (``--json`` for machines)."""

from __future__ import annotations

from typing import Any


def _kbps(bits: int | None) -> str:
    return f"{round(bits / 1000)} kb/s" if bits else ""


def _rendition(r: dict[str, Any]) -> str:
    size = f"{r['width']}x{r['height']}" if r.get("width") else ""
    rate = _kbps(r.get("bitrate"))
    if r.get("peak_bitrate") and r.get("peak_bitrate") != r.get("bitrate"):
        rate += f" (peak {_kbps(r['peak_bitrate'])})"
    vmaf = f"VMAF {r['vmaf']:.1f}" if r.get("vmaf") is not None else ""
    parts = [r["track"].ljust(6), r["kind"].ljust(5), r["codec"].ljust(13), size.ljust(9), rate]
    return "  ".join(parts + ([vmaf] if vmaf else [])).rstrip()


def asset_view(data: dict[str, Any]) -> str:
    """``assets show`` data (cli.common.asset_dict + cli.assets.with_media) as text. Ids and
    URLs are printed whole, one per line, so they can be copied."""
    lines = [data.get("title") or "(untitled)"]

    def row(label: str, value: object) -> None:
        if value not in (None, ""):
            lines.append(f"  {label:<11} {value}")

    row("id", data["id"])
    status = data["status"]
    if data.get("revision"):
        status += f" (revision {data['revision']})"
    row("status", status)
    row("error", data.get("error"))
    if data.get("duration"):
        row("duration", f"{data['duration']:.1f} s")
    row("published", "yes" if data.get("published") else "no (playback answers 404)")
    row("playback", data.get("playback_policy"))
    row("protection", data.get("drm"))
    row("downloads", "allowed" if data.get("allow_download") else "not allowed")
    playback = data.get("playback") or {}
    if playback.get("hls") or playback.get("dash"):
        lines.append("  urls")
        for name in ("hls", "dash"):
            if playback.get(name):
                lines.append(f"    {name:<5} {playback[name]}")
    if data.get("renditions"):
        lines.append("  renditions")
        lines.extend(f"    {_rendition(r)}" for r in data["renditions"])
    if data.get("captions"):
        lines.append("  captions")
        for c in data["captions"]:
            lines.append(f"    {c['track']:<9} {c['language']:<6} {c['label']} ({c['source']})")
    job = data.get("job")
    if job:
        state = f"{job['state']}, attempt {job['attempts']}, {job['progress'] * 100:.0f} %"
        row("job", f"{job['id']}  {state}")
        row("job error", job.get("error"))
    extras = data.get("extras")
    if extras:
        items = ", ".join(f"{k} {v.get('state')}" for k, v in (extras.get("items") or {}).items())
        row("extras", extras["state"] + (f" ({items})" if items else ""))
    ladder = data.get("ladder")
    if ladder:
        rungs = ", ".join(r.get("track", "?") for r in ladder.get("rungs", []))
        template = f"{ladder.get('template', '?')} v{ladder.get('version', '?')}"
        row("ladder", f"{template}, {ladder.get('mode', '?')}: {rungs}")
    return "\n".join(lines)
