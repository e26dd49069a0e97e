"""Print the CREATE statements of edx-proctoring's tables (and auth_user) from a migrated SQLite file."""

import sqlite3
import sys

path, version = sys.argv[1], sys.argv[2]
rows = (
    sqlite3.connect(path)
    .execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
        "AND (tbl_name LIKE 'proctoring_%' OR tbl_name = 'auth_user') "
        "ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, tbl_name, name"
    )
    .fetchall()
)
print(f"-- Tables of edx-proctoring {version} (plus auth_user) exactly as its own migrations")
print("-- (0001..0025) create them on SQLite: `make edx-proctoring-schema` regenerates this file.")
print()
for (sql,) in rows:
    print(sql.strip() + ";")
