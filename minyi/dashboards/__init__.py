"""Dashboards (数据看板): the figures of capability 1, steps 6 and 8 of DOMAIN.md (satisfaction,
ranking among peers, comparison by business type, callbacks, work orders, reasons, 跑多次),
their drill-down to the rows behind them, and audited Excel export."""
