// Storyboard: the WebVTT thumbnails track (`sb/{n}.jpg#xywh=x,y,w,h` per cue) that the
// player shows above its seek bar while the pointer hovers it. Hand-written: browsers do not
// expose metadata cues of a thumbnails track without attaching it to the video, and the
// format is a few lines (timings + one URL per cue).

/** "HH:MM:SS.mmm" or "MM:SS.mmm" → seconds. */
function seconds(stamp) {
  const parts = stamp.trim().split(":").map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

/** Cues of a thumbnails track: [{ start, end, url, x, y, w, h }], URLs resolved against `base`. */
export function parseStoryboard(text, base) {
  const cues = [];
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i += 1) {
    const timing = /^\s*([\d:.]+)\s+-->\s+([\d:.]+)/.exec(lines[i]);
    if (!timing || i + 1 >= lines.length) continue;
    const target = new URL(lines[i + 1].trim(), base);
    const box = /xywh=(\d+),(\d+),(\d+),(\d+)/.exec(target.hash);
    if (!box) continue;
    target.hash = "";
    const [x, y, w, h] = box.slice(1).map(Number);
    cues.push({ start: seconds(timing[1]), end: seconds(timing[2]), url: target.href, x, y, w, h });
  }
  return cues;
}

/** The cues of the storyboard at `url` (sent with the viewer's cookies); none if absent. */
export async function loadStoryboard(url) {
  const response = await fetch(url, { credentials: "include" });
  if (!response.ok) return [];
  return parseStoryboard(await response.text(), response.url || url);
}

/** The cue covering time `t` (cues are sorted; the last one covers the end). */
export function cueAt(cues, t) {
  let lo = 0;
  let hi = cues.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (t < cues[mid].start) hi = mid - 1;
    else if (t >= cues[mid].end && mid < cues.length - 1) lo = mid + 1;
    else return cues[mid];
  }
  return cues[0] || null;
}
