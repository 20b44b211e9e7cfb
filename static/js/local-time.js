// Times in the reader's own zone, and the UTC behind a typed staff time (portal_time,
// portal.timefields). Text nodes only; without JavaScript the server's text stays.
(() => {
  // <time datetime="…Z" data-local-time>: an owner's or a tipster's page shows the instant on
  // their own clock, in their language; the UTC text moves to the title.
  const lang = document.documentElement.lang || undefined;
  const format = new Intl.DateTimeFormat(lang, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  });
  for (const el of document.querySelectorAll("time[data-local-time]")) {
    const at = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(at.getTime())) continue;
    el.title = el.textContent;
    el.textContent = format.format(at);
    el.dataset.localized = "1";
  }

  // How far `zone`'s clock is ahead of UTC at the instant `ms`.
  function offsetMs(zone, ms) {
    const parts = {};
    const clock = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    for (const p of clock.formatToParts(new Date(ms))) parts[p.type] = p.value;
    const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
    return asUtc - Math.floor(ms / 1000) * 1000;
  }

  // "2026-12-04T18:00" on `zone`'s clock as a Date, or null (unreadable, or skipped by DST).
  function wallToUtc(value, zone) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
    if (!m) return null;
    const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    let at = wall - offsetMs(zone, wall);
    at = wall - offsetMs(zone, at);
    return at + offsetMs(zone, at) === wall ? new Date(at) : null;
  }

  // <input type="datetime-local" data-zone="America/New_York">: the UTC it means, beside it.
  for (const input of document.querySelectorAll('input[type="datetime-local"][data-zone]')) {
    const zone = input.dataset.zone;
    if (zone === "UTC") continue;
    const hint = document.createElement("span");
    hint.className = "utc-hint muted";
    hint.setAttribute("aria-live", "polite");
    hint.id = `${input.id || input.name}-utc`;
    input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), hint.id].filter(Boolean).join(" "));
    input.after(hint);
    const show = () => {
      const at = input.value ? wallToUtc(input.value, zone) : null;
      hint.textContent = at ? `= ${at.toISOString().slice(0, 16).replace("T", " ")} UTC` : "";
    };
    input.addEventListener("input", show);
    input.addEventListener("change", show);
    show();
  }
})();
