"""The baseline: a small, valid, consistent delivery of every contract table.

Every landing test starts from a warehouse holding exactly these rows (see
tests/landing/conftest.py), as CSV text so the fixture reads like the files it stands for.
"""

from __future__ import annotations

import csv
import io

TS = "2026-03-01T00:00:00Z"  # the version stamp of the master data

BASELINE_CSV: dict[str, str] = {
    "entities": f"""\
entity_id,name,currency,updated_at
E1,Example Corp US,USD,{TS}
E2,Example GmbH,EUR,{TS}
""",
    "fx_rates": f"""\
rate_date,from_currency,to_currency,rate,updated_at
2026-03-02,EUR,USD,1.08421234,{TS}
2026-03-03,EUR,USD,1.0850,{TS}
""",
    "suppliers": f"""\
supplier_id,name,country,currency,payment_terms_days,updated_at
S1,Acme Supply Inc.,US,USD,30,{TS}
S2,Bolt Works GmbH,DE,EUR,60,{TS}
""",
    "locations": f"""\
location_id,name,entity_id,region,timezone,wave_based,updated_at
L1,Chicago DC,E1,US-Central,America/Chicago,true,{TS}
L2,Berlin DC,E2,EU,Europe/Berlin,false,{TS}
""",
    "items": f"""\
item_id,description,category,abc_class,case_qty,unit_cost,unit_price,supplier_id,lead_time_days,updated_at
I1,Widget,Hardware,A,12,2.50,4.00,S1,7,{TS}
I2,Gadget,Hardware,B,6,10.00,15.00,S1,14,{TS}
I3,Bolt,Fasteners,C,100,0.05,0.10,S2,3,{TS}
""",
    "customers": f"""\
customer_id,name,segment,priority_tier,region,updated_at
C1,Acme,Retail,1,US-Central,{TS}
C2,Globex,Wholesale,2,EU,{TS}
""",
    "sales_order_lines": """\
order_id,line_no,entity_id,customer_id,item_id,location_id,channel,order_ts,ordered_qty,uom,unit_price,requested_date,promised_date,status,updated_at
O1,1,E1,C1,I1,L1,EDI,2026-03-02 09:00:00,10,EA,4.00,2026-03-05,2026-03-05,open,2026-03-02T15:00:00Z
O1,2,E1,C1,I2,L1,EDI,2026-03-02 09:00:00,2,CS,15.00,2026-03-05,2026-03-06,open,2026-03-02T15:00:00Z
O2,1,E2,C2,I3,L2,web,2026-03-03T10:00:00+01:00,500,EA,0.10,2026-03-06,2026-03-06,released,2026-03-03T09:00:00Z
""",
    "purchase_order_lines": f"""\
po_id,line_no,supplier_id,item_id,location_id,ordered_qty,uom,unit_cost,order_date,expected_date,status,updated_at
P1,1,S1,I1,L1,10,CS,2.50,2026-03-01,2026-03-08,open,{TS}
""",
    "ap_invoice_lines": f"""\
invoice_id,line_no,entity_id,supplier_id,po_id,po_line_no,invoiced_qty,invoiced_unit_cost,invoice_date,first_pass_matched,match_status,updated_at
INV1,1,E1,S1,P1,1,120,2.50,2026-03-09,true,matched,{TS}
INV1,2,E1,S1,,,1,25.00,2026-03-09,false,pending,{TS}
""",
    "returns": """\
rma_id,line_no,order_id,order_line_no,item_id,returned_qty,reason_code,created_at,credited_at
R1,1,O1,1,I1,2,damaged,2026-03-10 08:00:00,
""",
    "close_tasks": f"""\
entity_id,period,task_id,task_name,category,owner,due_date,completed_at,status,updated_at
E1,2026-02,T1,Bank reconciliation,cash,ann,2026-03-03,2026-03-03T17:00:00Z,done,{TS}
E1,2026-02,T2,Accruals,gl,bob,2026-03-04,,open,{TS}
""",
    "inventory_snapshots": """\
snapshot_date,location_id,item_id,on_hand_qty,allocated_qty,quarantined_qty,in_transit_qty
2026-03-01,L1,I1,100,10,0,24
2026-03-01,L2,I3,0,0,0,0
""",
    "cycle_counts": """\
count_id,location_id,bin_id,item_id,counted_at,system_qty,counted_qty,counter_id
CC1,L1,A-01-01,I1,2026-03-02 07:30:00,100,98,U7
""",
    "waves": f"""\
wave_id,location_id,planned_release_ts,released_ts,planned_complete_ts,completed_ts,lines_planned,lines_picked,status,updated_at
W1,L1,2026-03-04 08:00:00,2026-03-04 08:05:00,2026-03-04 12:00:00,2026-03-04 11:40:00,2,2,completed,{TS}
""",
    "shipments": """\
shipment_id,order_id,line_no,item_id,location_id,wave_id,shipped_qty,uom,shipped_ts
S1,O1,1,I1,L1,W1,10,EA,2026-03-04 13:00:00
S1,O1,2,I2,L1,W1,1,CS,2026-03-04 13:00:00
""",
    "receipts": """\
receipt_id,line_no,po_id,po_line_no,item_id,location_id,received_qty,damaged_qty,arrived_ts,putaway_ts
RC1,1,P1,1,I1,L1,120,0,2026-03-08 06:00:00,2026-03-08 09:30:00
""",
    "inventory_adjustments": """\
adjustment_id,location_id,item_id,adjusted_at,qty_delta,reason_code,user_id
ADJ1,L1,I1,2026-03-02 07:45:00,-2,count_variance,U7
""",
    "stock_transfers": f"""\
transfer_id,line_no,from_location_id,to_location_id,item_id,qty,uom,reference,created_at,shipped_ts,received_ts,status,updated_at
TR1,1,L1,L2,I1,24,EA,,2026-03-03 08:00:00,2026-03-03 15:00:00,,shipped,{TS}
""",
    "freight_shipments": f"""\
tms_shipment_id,shipment_id,carrier_id,mode,service_level,planned_pickup_ts,actual_pickup_ts,promised_delivery_ts,actual_delivery_ts,planned_freight_cost,actual_freight_cost,expedited,status,updated_at
F1,S1,CAR1,LTL,standard,2026-03-04 14:00:00,2026-03-04 14:10:00,2026-03-06 17:00:00,2026-03-06 19:30:00,250.00,262.50,false,delivered,{TS}
""",
    "tracking_events": """\
tms_shipment_id,event_ts,event_type,reason,location
F1,2026-03-04 14:10:00,picked_up,,Chicago
F1,2026-03-06 19:30:00,delivered,,Dallas
""",
}

# The same, as rows of text (header row first).
BASELINE: dict[str, list[list[str]]] = {
    table: list(csv.reader(io.StringIO(text))) for table, text in BASELINE_CSV.items()
}
