/* Say so when the server refuses a page's request, instead of leaving the page silently stale.
 *
 * A callback answered 401 (signed out, or the session timed out), 403 (not allowed), 413 (too
 * large) or 429 (too many requests) carries its reason as JSON `{"error": "..."}`. This shows
 * it in a banner at the top of the page (as text, never as HTML), with a sign-in link when the
 * session has ended and the wait the server asked for when it was too busy.
 */
(function () {
    var CALLBACK = "_dash-update-component";
    var SHOWN = { 401: true, 403: true, 413: true, 429: true };
    var FALLBACK = {
        401: "Your session has ended: sign in again.",
        403: "Your role may not do this.",
        413: "That was too large for the server to accept.",
        429: "Too many requests: wait a moment and try again.",
    };

    function banner() {
        var box = document.getElementById("ct-request-error");
        if (box) {
            return box;
        }
        box = document.createElement("div");
        box.id = "ct-request-error";
        box.className = "ct-request-error";
        box.setAttribute("role", "alert");
        var text = document.createElement("span");
        text.className = "ct-request-error-text";
        box.appendChild(text);
        var link = document.createElement("a");
        link.className = "ct-request-error-link";
        link.textContent = "Sign in";
        box.appendChild(link);
        var close = document.createElement("button");
        close.type = "button";
        close.className = "ct-request-error-close";
        close.textContent = "Dismiss";
        close.addEventListener("click", function () {
            box.hidden = true;
        });
        box.appendChild(close);
        document.body.insertBefore(box, document.body.firstChild);
        return box;
    }

    function show(status, message, retryAfter, callbackUrl) {
        var box = banner();
        var text = message || FALLBACK[status];
        if (status === 429 && retryAfter) {
            text += " (try again in " + retryAfter + " s)";
        }
        box.querySelector(".ct-request-error-text").textContent = text;
        var link = box.querySelector(".ct-request-error-link");
        if (status === 401) {
            var here = window.location.pathname + window.location.search;
            link.href =
                callbackUrl.replace(CALLBACK, "login") + "?next=" + encodeURIComponent(here);
            link.hidden = false;
        } else {
            link.hidden = true;
        }
        box.hidden = false;
    }

    var original = window.fetch;
    if (!original) {
        return;
    }
    window.fetch = function (resource, init) {
        var url = typeof resource === "string" ? resource : (resource && resource.url) || "";
        var answer = original.apply(this, arguments);
        if (url.indexOf(CALLBACK) === -1) {
            return answer;
        }
        return answer.then(function (response) {
            if (SHOWN[response.status]) {
                var callbackUrl = new URL(url, window.location.href).pathname;
                response
                    .clone()
                    .json()
                    .catch(function () {
                        return {};
                    })
                    .then(function (body) {
                        show(
                            response.status,
                            body && typeof body.error === "string" ? body.error : "",
                            response.headers.get("Retry-After"),
                            callbackUrl
                        );
                    });
            }
            return response;
        });
    };
})();
