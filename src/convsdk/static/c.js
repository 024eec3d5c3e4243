/* convsdk browser script: the micro conversions only the browser sees.
 *
 * Render its tag with convsdk_script() (Jinja) or script_tag(request) (Starlette);
 * the server serves it at /_convsdk/c.js. Then, anywhere on the page:
 *
 *   convsdk('video_played', {video: 'demo'});
 *
 * Calls made before the script ran are kept by this one-line stub, if the page has it:
 *   window.convsdk=window.convsdk||function(){(convsdk.q=convsdk.q||[]).push(arguments)};
 *
 * Recorded on its own:
 * - scroll_depth {depth: 25|50|75|100}, once each, as the visitor scrolls;
 * - time_on_page {seconds: N} after N seconds with the page visible;
 * - a click on an element with data-convsdk-click="name" (or inside one), with the
 *   element's data-convsdk-props JSON as properties.
 *
 * Script tag options: data-collect="/path" (the endpoint), data-scroll="off" or
 * "25,50,75,100", data-time="off" or "30,60".
 *
 * Events wait in a queue and go in batches with navigator.sendBeacon (fetch with
 * keepalive when it refuses) when the page is hidden or left, or a batch is full.
 * The server only accepts the event names the site allowlisted; the script sends no
 * other (the server writes the list into o.a).
 *
 * c.min.js is this file through rjsmin: python -m rjsmin <c.js >c.min.js
 */
(function (w, d, n) {
  'use strict';
  if (w.convsdk && w.convsdk.ok) return;  // loaded twice: one set of listeners
  // browser_script() writes the server's settings over this line.
  var o = {"c":"/_convsdk/collect","s":[25,50,75,100],"t":[30],"n":20,"a":0};
  var me = d.currentScript, q = [], early = w.convsdk, sec = 0, timer;
  function attr(k) {
    return me && me.getAttribute('data-' + k);
  }
  function list(k, v) {
    k = attr(k);  // "off", "" and anything not a number: none
    return k == null ? v : k.split(',').map(Number).filter(Boolean);
  }
  var url = attr('collect') || o.c, depths = list('scroll', o.s), times = list('time', o.t);

  function flush() {
    while (q.length) {
      var body = JSON.stringify({url: location.href, events: q.splice(0, o.n)});
      // sendBeacon outlives the page but says false when its quota is full.
      if (!(n.sendBeacon && n.sendBeacon(url, body))) {
        fetch(url, {method: 'POST', body: body, keepalive: true}).catch(function () {});
      }
    }
  }
  function track(name, props) {
    // The server refuses a whole batch for one name it does not allow: check it here
    // (o.a: the names the site allows).
    if (/^\w{1,64}$/.test(name) && (!o.a || o.a.indexOf(name) >= 0)) {
      q.push({name: name, properties: props && props.constructor == Object ? props : {}});
      if (q.length >= o.n) flush();
    }
  }

  function scrolled() {
    var seen = w.scrollY + w.innerHeight + 2, height = d.documentElement.scrollHeight;
    depths = depths.filter(function (p) {
      if (seen < height * p / 100) return 1;
      track('scroll_depth', {depth: p});
    });
    if (!depths.length) w.removeEventListener('scroll', scrolled);
  }
  if (depths.length) w.addEventListener('scroll', scrolled, {passive: true});

  // Time on page counts visible seconds only: a tab left open in the background
  // is not a visitor reading it.
  if (times.length) timer = setInterval(function () {
    if (d.hidden) return;
    sec++;
    times = times.filter(function (t) {
      if (t > sec) return 1;
      track('time_on_page', {seconds: t});
    });
    if (!times.length) clearInterval(timer);
  }, 1000);

  d.addEventListener('click', function (e) {
    var el = e.target.closest && e.target.closest('[data-convsdk-click]'), props = {};
    if (el) {
      try {
        props = JSON.parse(el.getAttribute('data-convsdk-props')) || {};
      } catch (x) {}
      track(el.getAttribute('data-convsdk-click'), props);
    }
  }, true);

  d.addEventListener('visibilitychange', function () {
    if (d.visibilityState == 'hidden') flush();
  });
  w.addEventListener('pagehide', flush);

  w.convsdk = track;
  track.flush = flush;
  track.ok = 1;
  (early && early.q || []).forEach(function (a) {
    track(a[0], a[1]);
  });
})(window, document, navigator);
