/* Functions the product's AG Grids name in their column definitions and options.
 *
 * dash-ag-grid evaluates a {"function": "..."} value with these functions in
 * scope, beside `params`, `d3` and the built-in themes (`themeQuartz`, ...).
 * The Python side only names a function and passes data (a d3 format, a
 * label table); all behaviour lives here.
 */
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

/* The grids' theme: Quartz with the colours and font of the stylesheet's CSS variables. */
dagfuncs.ctGridTheme = function (base) {
    return base.withParams({
        fontFamily: "inherit",
        fontSize: 13,
        headerFontSize: 12,
        headerFontWeight: 600,
        spacing: 6,
        wrapperBorderRadius: 8,
        borderRadius: 4,
        accentColor: "var(--ct-accent)",
        foregroundColor: "var(--ct-text)",
        backgroundColor: "var(--ct-surface)",
        borderColor: "var(--ct-border)",
        headerBackgroundColor: "var(--ct-surface-muted)",
        headerTextColor: "var(--ct-text-muted)",
        oddRowBackgroundColor: "var(--ct-surface-stripe)",
        selectedRowBackgroundColor: "var(--ct-accent-soft)",
        browserColorScheme: "light",
    });
};

/* A number in a d3 format (`spec`), or `empty` when there is no value. */
dagfuncs.ctNumber = function (params, d3, spec, empty) {
    return params.value == null ? empty : d3.format(spec)(params.value);
};

/* A duration given in milliseconds: 850 ms, 12.4 s, 3.2 min. */
dagfuncs.ctDuration = function (params, d3) {
    var ms = params.value;
    if (ms == null) {
        return "";
    }
    if (ms < 1000) {
        return ms + " ms";
    }
    if (ms < 120000) {
        return d3.format(".1f")(ms / 1000) + " s";
    }
    return d3.format(".1f")(ms / 60000) + " min";
};

/* A value shown through a label table (unknown values as they are). */
dagfuncs.ctLabel = function (params, labels) {
    return labels[params.value] || params.value;
};

/* Whether the cell's value is one of `values` (for cellClassRules). */
dagfuncs.ctValueIn = function (params, values) {
    return values.includes(params.value);
};

/* Whether the row's field `field` is one of `values` (for rowClassRules). */
dagfuncs.ctRowIn = function (params, field, values) {
    return params.data != null && values.includes(params.data[field]);
};

/* The row id every grid uses: the `row_id` field of its rows. */
/* A probability as a red bar behind the cell, as wide as the probability. */
dagfuncs.ctRiskBar = function (params) {
    if (params.value == null) {
        return {};
    }
    var pct = Math.round(params.value * 100);
    return {
        background:
            "linear-gradient(90deg, var(--ct-bad-soft) " + pct + "%, transparent " + pct + "%)",
    };
};
