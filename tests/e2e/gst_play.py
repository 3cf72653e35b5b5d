"""Play one HLS or DASH URL with GStreamer's ``playbin3`` to EOS; print a JSON report.

Run with the SYSTEM python3 (Debian ``python3-gi``, ``python3-gst-1.0``): the GObject bindings
are not in the test virtualenv. Usage::

    /usr/bin/python3 tests/e2e/gst_play.py URL [--cookie NAME=VALUE ...] [--timeout S]

Why a script and not ``gst-launch-1.0``: the signed cookies must reach every request, and
only playbin's ``source-setup`` signal lets us set souphttpsrc's ``cookies`` property (the
adaptive demuxers then reuse them for manifests, segments and keys). Sinks are ``fakesink
sync=false`` so a title plays as fast as it downloads and decodes; the text sink counts the
subtitle buffers it receives, so a test can tell subtitles were really delivered.

The report: ``eos`` (reached the end), ``errors`` (every ERROR message, with its debug
text), ``streams`` (the stream collection: type, language and title of each stream),
``selected`` (the stream ids playbin3 picked) and ``buffers`` (per sink type).
"""

from __future__ import annotations

import argparse
import json
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def _sink(kind: str, counts: dict[str, int]) -> Gst.Element:
    sink = Gst.ElementFactory.make("fakesink", f"{kind}-sink")
    sink.set_property("sync", False)
    sink.set_property("signal-handoffs", True)

    def handoff(*_: object) -> None:
        counts[kind] += 1

    sink.connect("handoff", handoff)
    return sink


def play(url: str, cookies: list[str], timeout_s: float) -> dict:
    Gst.init(None)
    counts = {"video": 0, "audio": 0, "text": 0}
    report: dict = {"eos": False, "errors": [], "streams": [], "selected": []}
    playbin = Gst.ElementFactory.make("playbin3", None)
    playbin.set_property("uri", url)
    for kind in counts:
        playbin.set_property(f"{kind}-sink", _sink(kind, counts))

    def source_setup(_: Gst.Element, source: Gst.Element) -> None:
        if cookies and source.find_property("cookies") is not None:
            source.set_property("cookies", cookies)

    playbin.connect("source-setup", source_setup)
    loop = GLib.MainLoop()

    def on_message(_: Gst.Bus, message: Gst.Message) -> None:
        if message.type == Gst.MessageType.EOS:
            report["eos"] = True
            loop.quit()
        elif message.type == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            report["errors"].append(f"{message.src.get_name()}: {error.message} ({debug})")
            loop.quit()
        elif message.type == Gst.MessageType.STREAM_COLLECTION:
            collection = message.parse_stream_collection()
            streams = []
            wanted: list[str] = []
            for i in range(collection.get_size()):
                stream = collection.get_stream(i)
                kind = Gst.stream_type_get_name(stream.get_stream_type())
                tags = stream.get_tags()
                lang = tags.get_string("language-code")[1] if tags else None
                title = tags.get_string("title")[1] if tags else None
                streams.append({"type": kind, "language": lang, "title": title})
                # one stream of each type, subtitles included (playbin3 may leave text off)
                if kind not in [s["type"] for s in streams[:-1]]:
                    wanted.append(stream.get_stream_id())
            report["streams"] = streams
            playbin.send_event(Gst.Event.new_select_streams(wanted))
        elif message.type == Gst.MessageType.STREAMS_SELECTED:
            report["selected"] = [
                Gst.stream_type_get_name(message.streams_selected_get_stream(i).get_stream_type())
                for i in range(message.streams_selected_get_size())
            ]

    bus = playbin.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    GLib.timeout_add(
        int(timeout_s * 1000), lambda: (report["errors"].append("timeout"), loop.quit())
    )
    playbin.set_state(Gst.State.PLAYING)
    loop.run()
    playbin.set_state(Gst.State.NULL)
    report["buffers"] = counts
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("url")
    parser.add_argument("--cookie", action="append", default=[], help="NAME=VALUE, repeatable")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    report = play(args.url, args.cookie, args.timeout)
    print(json.dumps(report))
    return 0 if report["eos"] and not report["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
