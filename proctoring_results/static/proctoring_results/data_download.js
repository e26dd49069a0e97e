/*
 * The Data Download page, live: the Generate button, Pending Tasks polled
 * while tasks run, and report links that are fetched again before they expire.
 *
 * The two live parts (Pending Tasks, the report list) are rendered by the
 * server only: the script fetches each part as HTML from its URL
 * (data-tasks-part-url, data-reports-part-url, the same templates as the
 * first render) and swaps it in, so every time, duration, size and word on
 * the page is formatted once, in Python. Generate posts to the REST API.
 *
 * Plain JavaScript, no build step, no dependencies, no global names. It works
 * only inside its root element (#pr-dashboard), so a host page such as the
 * LMS's instructor dashboard can embed it; the CSRF token is read from that
 * element (or, failing that, from the host's CSRF cookie). Strings it shows itself come translated from the server (the
 * "pr-strings" JSON script element).
 */
(function () {
  "use strict";

  var root = document.getElementById("pr-dashboard");
  if (!root || !window.fetch || !window.DOMParser) {
    return; // the server-rendered page still works: reload to see the state
  }

  function find(selector) {
    return root.querySelector(selector);
  }

  function findAll(selector) {
    return Array.prototype.slice.call(root.querySelectorAll(selector));
  }

  var strings = JSON.parse(find("#pr-strings").textContent);
  var tasksUrl = root.dataset.tasksUrl;
  var tasksPart = find("#pr-tasks-part");
  var reportsPart = find("#pr-reports-part");
  var expiryMs = Number(root.dataset.linkExpirySeconds) * 1000;
  var pollActiveMs = Number(root.dataset.pollActiveMs) || 2000;
  var pollIdleMs = Number(root.dataset.pollIdleMs) || 15000;
  // Refresh the links well before they expire: every minute, or sooner for short expiries.
  var refreshReportsMs = Math.min(60000, expiryMs / 2);
  // A link counts as expired this long before its end, so a click never races the server.
  var expiryMarginMs = Math.min(5000, expiryMs / 10);

  var button = find("#pr-generate");
  var statusRegion = find("#pr-status");
  var csrfInput = find("input[name=csrfmiddlewaretoken]");

  // Links on the first render were signed while the server built this page,
  // which began after the browser sent the request: navigation start is a safe bound.
  var linksDeadline = (window.performance && performance.timeOrigin ? performance.timeOrigin : Date.now()) + expiryMs;
  var activeTaskIds = taskIds(true);
  var knownReportIds = reportIds();
  var tasksTimer = null;
  var reportsTimer = null;

  function fmt(template, params) {
    return template.replace(/%\((\w+)\)s/g, function (match, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : match;
    });
  }

  function announce(text) {
    statusRegion.textContent = text;
  }

  function taskRows() {
    return findAll("#pr-tasks-body tr[data-task-id]");
  }

  function isActive(row) {
    return row.dataset.state === "queued" || row.dataset.state === "running";
  }

  function taskIds(activeOnly) {
    return taskRows().filter(function (row) { return !activeOnly || isActive(row); })
      .map(function (row) { return row.dataset.taskId; });
  }

  function reportIds() {
    return findAll("#pr-reports li[data-report-id]").map(function (item) { return item.dataset.reportId; });
  }

  // The page's CSRF token: the form field rendered with the page, else the cookie the host
  // (an Open edX LMS) sets for its own scripts. Read at each request, so a rotated token is used.
  function csrfToken() {
    if (csrfInput && csrfInput.value) {
      return csrfInput.value;
    }
    var name = root.dataset.csrfCookieName || "csrftoken";
    var match = document.cookie.split(/;\s*/).filter(function (item) {
      return item.indexOf(name + "=") === 0;
    })[0];
    return match ? decodeURIComponent(match.slice(name.length + 1)) : "";
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": csrfToken(),
      },
      credentials: "same-origin",
      cache: "no-store",
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  // Fetch a part's HTML from the server and put it in place of the part's content.
  function reloadPart(container) {
    return fetch(container.dataset.partUrl, {
      headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-store",
    }).then(function (response) {
      if (response.status !== 200) {
        throw new Error(fmt(strings.requestFailed, { status: response.status }));
      }
      return response.text();
    }).then(function (html) {
      var parsed = new DOMParser().parseFromString(html, "text/html");
      container.replaceChildren.apply(container, Array.prototype.slice.call(parsed.body.childNodes));
    });
  }

  // ------------------------------------------------------------ Pending Tasks

  function pollTasks() {
    clearTimeout(tasksTimer);
    return reloadPart(tasksPart).then(function () {
      var active = taskIds(true);
      var finished = activeTaskIds.filter(function (id) { return active.indexOf(id) === -1; });
      activeTaskIds = active;
      if (finished.length) {
        announceFailures(finished);
        refreshReports(true);
      }
      tasksTimer = setTimeout(pollTasks, active.length ? pollActiveMs : pollIdleMs);
    }).catch(function () {
      tasksTimer = setTimeout(pollTasks, pollIdleMs);
    });
  }

  function announceFailures(finishedIds) {
    // A failed task stays in Pending Tasks with its message; the status box says so too.
    taskRows().forEach(function (row) {
      if (row.dataset.state === "failed" && finishedIds.indexOf(row.dataset.taskId) !== -1) {
        var message = row.querySelector(".pr-task-message");
        announce(fmt(strings.taskFailed, { message: message ? message.textContent.trim() : "" }));
      }
    });
  }

  // ------------------------------------------------------------ reports and their links

  function refreshReports(announceNew) {
    clearTimeout(reportsTimer);
    var started = Date.now();
    return reloadPart(reportsPart).then(function () {
      var ids = reportIds();
      var fresh = ids.filter(function (id) { return knownReportIds.indexOf(id) === -1; });
      knownReportIds = ids;
      // Measured from when we asked, on this machine's clock: the server's clock may differ.
      linksDeadline = started + expiryMs;
      if (announceNew && fresh.length) {
        var link = find("#pr-reports li[data-report-id='" + fresh[0] + "'] a.pr-report-link");
        announce(fmt(strings.reportReady, { name: link ? link.textContent : "" }));
      }
      reportsTimer = setTimeout(refreshReports, refreshReportsMs);
    }).catch(function () {
      reportsTimer = setTimeout(refreshReports, 5000);
    });
  }

  function linksExpired() {
    return Date.now() >= linksDeadline - expiryMarginMs;
  }

  function markLinksExpired() {
    findAll("#pr-reports a.pr-report-link[href]").forEach(function (link) {
      link.removeAttribute("href");
      link.setAttribute("aria-disabled", "true");
      link.classList.add("pr-expired");
      var note = document.createElement("span");
      note.className = "pr-expired-note";
      note.textContent = " " + strings.expired;
      link.parentNode.insertBefore(note, link.nextSibling);
    });
  }

  function checkExpiry() {
    if (linksExpired() && find("#pr-reports a.pr-report-link[href]")) {
      markLinksExpired();
      refreshReports(false);
    }
  }

  reportsPart.addEventListener("click", function (event) {
    var link = event.target.closest("a.pr-report-link");
    if (link && (linksExpired() || !link.hasAttribute("href"))) {
      event.preventDefault();
      checkExpiry();
    }
  });

  // ------------------------------------------------------------ Generate

  button.addEventListener("click", function () {
    button.disabled = true;
    announce("");
    // Unchecked (or absent where the operator does not allow it): an unchanged course answers with its newest report.
    var force = document.getElementById("pr-force");
    postJson(tasksUrl, force && force.checked ? { force: true } : {}).then(function (result) {
      if (result.status === 202 || result.status === 409) {
        announce(result.data.message || button.dataset.generateMessage);
        // Track the task even if it finishes before the next poll, so its report is fetched then.
        if (result.data.task && activeTaskIds.indexOf(String(result.data.task.id)) === -1) {
          activeTaskIds.push(String(result.data.task.id));
        }
      } else if (result.status === 200 && result.data.report) {
        // Nothing changed: no new task; the newest report is the one to use (listed below).
        announce(result.data.message);
        refreshReports(false);
      } else {
        announce(result.data.message || result.data.detail || fmt(strings.requestFailed, { status: result.status }));
      }
      return pollTasks();
    }).catch(function () {
      announce(strings.networkError);
    }).then(function () {
      button.disabled = false;
    });
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      checkExpiry();
      pollTasks();
    }
  });

  setInterval(checkExpiry, 1000);
  checkExpiry();
  reportsTimer = setTimeout(refreshReports, refreshReportsMs);
  tasksTimer = setTimeout(pollTasks, activeTaskIds.length ? pollActiveMs : pollIdleMs);
})();
