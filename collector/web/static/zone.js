// Tells the console the browser's time zone (the `tz` cookie) so times are shown in it when the
// user has not chosen one (pages after the first use it; without script they are in UTC).
(function () {
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  if (!zone || !/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) { return; }
  var held = document.cookie.match(/(?:^|; )tz=([^;]*)/);
  if (held && held[1] === zone) { return; }
  // Zone names need no escaping (checked above); the collector also undoes %-escapes.
  document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
})();
