"""Demo data (演示数据), no capability of its own: the Shaoxing-shaped demo city, its
satisfaction history and live traffic, the staff working callbacks and work orders, and the
citizen portal's opinions and cases, all made through the real services of the apps below.
Commands: demo_city, demo_history, demo_traffic, demo_portal."""
