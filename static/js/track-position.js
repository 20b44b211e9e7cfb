// Where a body camera was at a moment of its video: shared by the item page's track map
// (item-track.js) and the case map's synchronized playback (case-map.js).
window.CanvassTrack = {
  // [lon, lat] at `seconds` into the video, between two positions in a straight line; the
  // first position before the track starts, the last after it ends.
  positionAt(seconds, offsets, coords) {
    const last = offsets.length - 1;
    if (!(seconds > offsets[0])) return coords[0];
    if (seconds >= offsets[last]) return coords[last];
    let lo = 0;
    let hi = last;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (offsets[mid] <= seconds) lo = mid;
      else hi = mid;
    }
    const span = offsets[hi] - offsets[lo];
    const f = span > 0 ? (seconds - offsets[lo]) / span : 0;
    return [
      coords[lo][0] + f * (coords[hi][0] - coords[lo][0]),
      coords[lo][1] + f * (coords[hi][1] - coords[lo][1]),
    ];
  },
};
