"""Retention and deletion of personal data (个人信息保存期限与删除, PIPL): per-category periods,
the scheduled purge with its processing records (处理记录), and the export of one citizen's
data on request (查阅复制权). Reads every app's personal data, so it sits at the top layer."""
