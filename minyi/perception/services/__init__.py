"""The satisfaction loop's writes, one module per step of DOMAIN.md: ingest, surveys,
replies; `daily` keeps the rollup. Callbacks are in minyi.callbacks, the SMS inbox in
minyi.inbox, work orders in minyi.workorders."""
