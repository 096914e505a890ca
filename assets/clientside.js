/* Clientside callbacks of the app (`dash.ClientsideFunction("controlTower", name)`).
 *
 * They run in the browser: marking the current page's link, and keeping the
 * server-side grids (infinite row model) in step with what the server says.
 */
window.dash_clientside = window.dash_clientside || {};

(function () {
    var noUpdate = function () {
        return window.dash_clientside.no_update;
    };

    /* Run `use(api)` on a grid once its API is ready (nothing if the grid is gone). */
    function withGrid(gridId, use) {
        if (window.dash_ag_grid) {
            window.dash_ag_grid
                .getApiAsync(gridId)
                .then(use)
                .catch(function () {
                    return null;
                });
        }
    }

    window.dash_clientside.controlTower = {
        /* Grid rows from their compact form {fields: [...], values: [[...], ...]}
         * (`control_tower.web.grid.columnar`): the field names are sent once, not per row. */
        rowsFromColumns: function (data) {
            if (!data || !data.fields || !data.values) {
                return [];
            }
            return data.values.map(function (values) {
                var row = {};
                data.fields.forEach(function (field, i) {
                    row[field] = values[i];
                });
                return row;
            });
        },
        /* aria-current on the navigation link of the page shown (style and screen readers). */
        markCurrentNav: function (pathname) {
            document.querySelectorAll("#shell-nav a").forEach(function (a) {
                if (new URL(a.href).pathname === pathname) {
                    a.setAttribute("aria-current", "page");
                } else {
                    a.removeAttribute("aria-current");
                }
            });
            return noUpdate();
        },

        /* The exception view changed: drop the cached blocks and the selection. */
        exceptionsViewChanged: function () {
            withGrid("exceptions-grid", function (api) {
                api.deselectAll();
                api.purgeInfiniteCache();
            });
            return noUpdate();
        },

        /* Items changed: reload the cached blocks in place and clear the selection. */
        exceptionsItemsChanged: function (done) {
            if (done) {
                withGrid("exceptions-grid", function (api) {
                    api.deselectAll();
                    api.refreshInfiniteCache();
                });
            }
            return noUpdate();
        },

        /* A click on a row (outside its box and its id link) opens the item. */
        exceptionsOpenRow: function (cell) {
            var col = cell && cell.colId;
            var link = col === "item_id" && String(cell.value || "").indexOf("](") >= 0;
            if (!cell || !cell.rowId || col === "id" || col === "ag-Grid-SelectionColumn" || link) {
                return noUpdate();
            }
            return "/exceptions/" + encodeURIComponent(cell.rowId);
        },

        /* How many rows are selected, in words. */
        selectedCount: function (rows) {
            var n = (rows || []).length;
            return n === 0 ? "No rows selected" : n === 1 ? "1 row selected" : n + " rows selected";
        },

        /* A new snapshot: reload the blocks the quarantine browser has cached. */
        quarantineSnapshotChanged: function (snapshot) {
            if (snapshot) {
                withGrid("data-health-quarantine", function (api) {
                    api.refreshInfiniteCache();
                });
            }
            return snapshot;
        },
    };
})();
