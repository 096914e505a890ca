"""A small delivery drawn by hand for the order promise queues, read at NOW (2026-03-12 10:00 UTC).

As-of day T = 2026-03-12, so T+1 = 03-13. Sites: L1 Chicago and L3 Dallas of
entity E1, L2 Berlin of E2. Stock at each site's latest snapshot on or before T
(03-11; the 03-13 row is after T and ignored; L2's older 03-10 row of I1 is not in its
latest snapshot, so L2 holds no I1):

    L1 I1  20 on hand - 5 allocated - 5 quarantined = 10
    L1 I2  0           L3 I2  50 (its own open demand: B2 30)    L2 I2  1000 (entity E2)
    L1 I3  1000        L2 I3  0                                   L2 I1  none

Open PO supply: Q1|1 12 I1 at L1 expected 03-05 (past due: counts on 03-13);
Q1|2 24 I1 at L1 expected 03-20, 12 received (12 open); Q2|1 and Q2|2 6 I3 each at
L2 on 03-16 and 03-18; Q3|1 cancelled; Q4|1 received (nothing more comes, though
nothing was receipted).

Open lines of I1 at L1 in promise order (A6 is released: inside allocated):

    line  promised  ordered     qty  cumulative  A0 + S(promised)  verdict
    A1|1  03-10     03-01       4    4           -                 past due (backordered_line)
    A2|1  03-12     03-03       6    10          10                covered (today: no supply yet)
    A3|1  03-13     03-04       8    18          22                covered by past-due Q1|1 on T+1
    A4|1  03-15     03-02 15:00 3    21          22                covered
    A5|1  03-15     03-08       2    23          22                short 1: expedite Q1|2, ATP 03-20

Other lines: B1|1 12 I2 at L1 (tier-1 customer) short 12, L3 holds 20 beyond its own
demand: transfer; C1|1 10 I3 at L2 short 10, no site or single PO covers it, the two
POs do by 03-18: re-promise; D1|1 5 I1 at L2 with nothing anywhere in E2: no supply;
R1|1 and R2|1 I3 at L1, covered, late-order risk 0.7 and 0.4 (RISKS).

Shipped lines for missed_promise (first promise, deliveries on the Chicago calendar):

    line  first promise  deliveries                               verdict
    M1|1  03-05          10 at 03-06 03:00 UTC = 03-05 21:00 local  on time
    M2|1  03-05          10 on 03-06, requested 03-04              1 day late, OTIF missed too
    M3|1  03-08          shipped, never delivered, requested 03-15  not delivered, OTIF not due
    M4|1  03-08          6 on 03-07, 4 on 03-10; damaged return     late in full on 03-10
    M5|1  02-10          never delivered                          a miss outside the window
    M6|1  03-12          not delivered                            not due yet
    M8|1  03-05          on a cancelled freight shipment          not delivered

Freight costs (plan 100): FM1 105 (within 10%), FM2 115 (over), FM4a 200 (expedited: by
decision, not a queue item), FM4b 100, FM8 cancelled.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from tests.support.baseline import BASELINE_CSV
from tests.support.exception_cases import detect_at, fresh_home, land, writer

NOW = datetime(2026, 3, 12, 10, 0)
AS_OF = date(2026, 3, 12)
TS = "2026-03-01T00:00:00Z"

_LINES = [
    "A1,1,E1,C2,I1,L1,EDI,2026-03-01T15:00:00Z,4,EA,4.00,2026-03-10,2026-03-10,open",
    "A2,1,E1,C2,I1,L1,EDI,2026-03-03T15:00:00Z,6,EA,4.00,2026-03-12,2026-03-12,open",
    "A3,1,E1,C2,I1,L1,EDI,2026-03-04T15:00:00Z,8,EA,4.00,2026-03-13,2026-03-13,backordered",
    "A4,1,E1,C2,I1,L1,EDI,2026-03-02T15:00:00Z,3,EA,4.00,2026-03-15,2026-03-15,open",
    "A5,1,E1,C2,I1,L1,EDI,2026-03-08T15:00:00Z,2,EA,4.00,2026-03-15,2026-03-15,open",
    "A6,1,E1,C2,I1,L1,EDI,2026-03-08T15:00:00Z,50,EA,4.00,2026-03-15,2026-03-15,released",
    "B1,1,E1,C1,I2,L1,EDI,2026-03-05T15:00:00Z,12,EA,15.00,2026-03-16,2026-03-16,open",
    "B2,1,E1,C2,I2,L3,EDI,2026-03-05T15:00:00Z,30,EA,15.00,2026-03-20,2026-03-20,open",
    "R1,1,E1,C2,I3,L1,web,2026-03-05T15:00:00Z,10,EA,0.10,2026-03-18,2026-03-18,open",
    "R2,1,E1,C2,I3,L1,web,2026-03-05T15:00:00Z,10,EA,0.10,2026-03-18,2026-03-18,open",
    "C1,1,E2,C2,I3,L2,web,2026-03-05T15:00:00Z,10,EA,0.10,2026-03-14,2026-03-14,open",
    "D1,1,E2,C2,I1,L2,web,2026-03-05T15:00:00Z,5,EA,4.00,2026-03-20,2026-03-20,open",
    "M1,1,E1,C2,I1,L1,EDI,2026-03-01T15:00:00Z,10,EA,4.00,2026-03-05,2026-03-05,shipped",
    "M2,1,E1,C1,I1,L1,EDI,2026-03-01T15:00:00Z,10,EA,4.00,2026-03-04,2026-03-05,shipped",
    "M3,1,E1,C2,I1,L1,EDI,2026-03-01T15:00:00Z,10,EA,4.00,2026-03-15,2026-03-08,shipped",
    "M4,1,E1,C2,I1,L1,EDI,2026-03-01T15:00:00Z,10,EA,4.00,2026-03-08,2026-03-08,shipped",
    "M5,1,E1,C2,I1,L1,EDI,2026-01-20T15:00:00Z,10,EA,4.00,2026-02-10,2026-02-10,shipped",
    "M6,1,E1,C2,I1,L1,EDI,2026-03-01T15:00:00Z,10,EA,4.00,2026-03-12,2026-03-12,shipped",
    "M8,1,E1,C2,I1,L1,EDI,2026-03-01T15:00:00Z,10,EA,4.00,2026-03-05,2026-03-05,shipped",
]

_FREIGHT = [
    # id, shipment, pickup, promised delivery, actual delivery, planned, actual, expedited, status
    ("FM1", "SM1", "03-04T16", "03-06T17", "2026-03-06T03:00:00Z", "105.00", "false", "delivered"),
    ("FM2", "SM2", "03-04T16", "03-06T17", "2026-03-06T15:00:00Z", "115.00", "false", "delivered"),
    ("FM3", "SM3", "03-07T16", "03-09T17", "", "", "false", "in_transit"),
    ("FM4a", "SM4a", "03-06T16", "03-07T17", "2026-03-07T15:00:00Z", "200.00", "true", "delivered"),
    (
        "FM4b",
        "SM4b",
        "03-09T16",
        "03-10T17",
        "2026-03-10T15:00:00Z",
        "100.00",
        "false",
        "delivered",
    ),
    ("FM8", "SM8", "03-04T16", "03-05T17", "2026-03-05T15:00:00Z", "300.00", "false", "cancelled"),
]


def _freight_row(f: tuple[str, ...]) -> str:
    tms, shipment, pickup, promised, delivered, actual, expedited, status = f
    pickup_ts, promised_ts = f"2026-{pickup}:00:00Z", f"2026-{promised}:00:00Z"
    return (
        f"{tms},{shipment},CAR1,LTL,standard,{pickup_ts},{pickup_ts},{promised_ts},{delivered},"
        f"100.00,{actual},{expedited},{status},{TS}"
    )


DELIVERY: dict[str, str] = {
    "locations": BASELINE_CSV["locations"]
    + f"L3,Dallas DC,E1,US-Central,America/Chicago,true,{TS}\n",
    **{t: BASELINE_CSV[t] for t in ("items", "customers")},
    "sales_order_lines": (
        "order_id,line_no,entity_id,customer_id,item_id,location_id,channel,order_ts,ordered_qty,"
        "uom,unit_price,requested_date,promised_date,status,updated_at\n"
        + "".join(f"{line},{TS}\n" for line in _LINES)
    ),
    "shipments": """\
shipment_id,order_id,line_no,item_id,location_id,wave_id,shipped_qty,uom,shipped_ts
SM1,M1,1,I1,L1,,10,EA,2026-03-04T15:00:00Z
SM2,M2,1,I1,L1,,10,EA,2026-03-04T15:00:00Z
SM3,M3,1,I1,L1,,10,EA,2026-03-07T15:00:00Z
SM4a,M4,1,I1,L1,,6,EA,2026-03-06T15:00:00Z
SM4b,M4,1,I1,L1,,4,EA,2026-03-09T15:00:00Z
SM5,M5,1,I1,L1,,10,EA,2026-02-09T15:00:00Z
SM6,M6,1,I1,L1,,10,EA,2026-03-11T15:00:00Z
SM8,M8,1,I1,L1,,10,EA,2026-03-04T15:00:00Z
""",
    "freight_shipments": (
        "tms_shipment_id,shipment_id,carrier_id,mode,service_level,planned_pickup_ts,"
        "actual_pickup_ts,promised_delivery_ts,actual_delivery_ts,planned_freight_cost,"
        "actual_freight_cost,expedited,status,updated_at\n"
        + "".join(_freight_row(f) + "\n" for f in _FREIGHT)
    ),
    "inventory_snapshots": """\
snapshot_date,location_id,item_id,on_hand_qty,allocated_qty,quarantined_qty,in_transit_qty
2026-03-11,L1,I1,20,5,5,0
2026-03-11,L1,I2,0,0,0,0
2026-03-11,L1,I3,1000,0,0,0
2026-03-11,L3,I2,50,0,0,0
2026-03-11,L2,I2,1000,0,0,0
2026-03-11,L2,I3,0,0,0,0
2026-03-13,L1,I1,999,0,0,0
2026-03-10,L2,I1,40,0,0,0
""",
    "purchase_order_lines": f"""\
po_id,line_no,supplier_id,item_id,location_id,ordered_qty,uom,unit_cost,order_date,expected_date,status,updated_at
Q1,1,S1,I1,L1,1,CS,30.00,2026-02-20,2026-03-05,open,{TS}
Q1,2,S1,I1,L1,2,CS,30.00,2026-02-20,2026-03-20,open,{TS}
Q2,1,S2,I3,L2,6,EA,0.05,2026-03-01,2026-03-16,open,{TS}
Q2,2,S2,I3,L2,6,EA,0.05,2026-03-01,2026-03-18,open,{TS}
Q3,1,S1,I1,L1,5,CS,30.00,2026-03-01,2026-03-13,cancelled,{TS}
Q4,1,S2,I3,L2,6,EA,0.05,2026-03-01,2026-03-15,received,{TS}
""",
    "receipts": """\
receipt_id,line_no,po_id,po_line_no,item_id,location_id,received_qty,damaged_qty,arrived_ts,putaway_ts
RQ1,1,Q1,2,I1,L1,12,0,2026-03-11T08:00:00Z,2026-03-11T09:00:00Z
""",
    "returns": """\
rma_id,line_no,order_id,order_line_no,item_id,returned_qty,reason_code,created_at
RM4,1,M4,1,I1,1,damaged,2026-03-11T11:00:00Z
""",
}

# Late-order risk of open lines, as the risk step writes it for the day.
RISKS = {("R1", 1): 0.7, ("R2", 1): 0.4}

RISK_SQL = """
DELETE FROM risk.late_order_scores;
INSERT INTO risk.late_order_scores
    (order_id, line_no, entity_id, location_id, customer_id, item_id, first_promised_date,
     probability, baseline_flag, value, drivers, model_version, as_of, scored_at)
SELECT order_id, line_no, entity_id, location_id, customer_id, item_id, first_promised_date,
       p.probability, false, 1.0, '[]', 'test', DATE '2026-03-12', TIMESTAMP '2026-03-12 09:00:00'
FROM sales_order_lines JOIN (VALUES {values}) AS p(o, n, probability)
     ON order_id = p.o AND line_no = p.n
"""


def risk_sql() -> str:
    """The SQL that writes RISKS into risk.late_order_scores (replacing what is there)."""
    values = ", ".join(f"('{o}', {n}, {p})" for (o, n), p in RISKS.items())
    return RISK_SQL.format(values=values)


def detected_kit(root: Path) -> Path:
    """A data folder under `root` with DELIVERY landed, the late-order risks written and
    detection run at NOW."""
    home = root / "landed" / "home"
    report = land(home, DELIVERY)
    assert report.status == "ok", report.steps
    home = fresh_home(home, root / "detected" / "home")
    with writer(home) as con:
        con.execute(risk_sql())
    assert not detect_at(home, NOW).failed
    return home
