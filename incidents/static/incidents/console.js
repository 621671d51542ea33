/* The responders' console: times in the viewer's zone, and pages that grow
 * live. A websocket message says something changed; the page then fetches
 * what is new from its live view (rendered by the server, ordered by event
 * id) so a dropped or out-of-order message loses nothing. */
(function () {
  "use strict";

  function localize(root) {
    var withSeconds = { year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
      timeZoneName: "short" };
    var withoutSeconds = Object.assign({}, withSeconds);
    delete withoutSeconds.second;
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) { return; }
      var format = el.dataset.local === "seconds" ? withSeconds : withoutSeconds;
      el.title = el.textContent;
      el.textContent = new Intl.DateTimeFormat(undefined, format).format(at);
    });
  }

  function lastId(list) {
    var last = 0;
    list.querySelectorAll("li.entry").forEach(function (li) {
      last = Math.max(last, Number(li.dataset.id));
    });
    return last;
  }

  function insertEntry(list, entry) {
    if (document.getElementById("event-" + entry.id)) { return; }
    var holder = document.createElement("ol");
    holder.innerHTML = entry.html;
    var li = holder.firstElementChild;
    var after = null;
    list.querySelectorAll("li.entry").forEach(function (other) {
      if (Number(other.dataset.id) > entry.id && after === null) { after = other; }
    });
    list.insertBefore(li, after);
    localize(li);
    li.classList.add("entry-new");
  }

  function warRoom(page) {
    var list = document.getElementById("timeline");
    var header = document.getElementById("war-room-header");
    var actions = document.getElementById("war-room-actions");
    return function (data) {
      header.innerHTML = data.header;
      localize(header);
      data.entries.forEach(function (entry) { insertEntry(list, entry); });
      // Someone else moved the incident: offer what its new status allows.
      if (actions && data.actions !== null) {
        actions.innerHTML = data.actions;
        actions.dataset.status = data.status;
      }
    };
  }

  function board(page) {
    var rows = document.getElementById("board-rows");
    return function (data) {
      rows.innerHTML = data.rows;
      localize(rows);
    };
  }

  function live(page, apply) {
    var state = document.getElementById("live-state");
    var busy = false, again = false, failures = 0;
    function show(name, text) {
      if (state) { state.dataset.state = name; state.textContent = text; }
    }
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      var url = page.dataset.liveUrl;
      var list = document.getElementById("timeline");
      if (list) { url += (url.indexOf("?") < 0 ? "?" : "&") + "after=" + lastId(list); }
      var actions = document.getElementById("war-room-actions");
      if (actions) { url += "&status=" + encodeURIComponent(actions.dataset.status); }
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (data) { if (data) { apply(data); } })
        .catch(function () {})
        .then(function () {
          busy = false;
          if (again) { again = false; refresh(); }
        });
    }
    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + location.host + page.dataset.wsPath);
      socket.onopen = function () {
        failures = 0;
        show("live", "live");
        refresh(); // what happened while the socket was down
      };
      socket.onmessage = refresh;
      socket.onclose = function () {
        failures += 1;
        show("reconnecting", "reconnecting…");
        setTimeout(connect, Math.min(250 * Math.pow(2, failures), 10000));
      };
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    var room = document.getElementById("war-room");
    if (room) { live(room, warRoom(room)); }
    var open = document.getElementById("board");
    if (open) { live(open, board(open)); }
    document.querySelectorAll("input[data-absolute]").forEach(function (field) {
      field.value = new URL(field.value, location.href).href;
    });
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var field = document.getElementById(button.dataset.copy);
        field.select();
        if (navigator.clipboard) { navigator.clipboard.writeText(field.value); }
        button.textContent = "Copied";
      });
    });
  });
}());
