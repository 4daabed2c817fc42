"""Puts a bench's report into docs/PERFORMANCE.md between its markers, replacing what was
there, or as a new section at the end the first time.

    python3 bench/put_section.py NAME HEADING FILE
"""
import re
import sys

name, heading, report_file = sys.argv[1:4]
path = "docs/PERFORMANCE.md"
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
text = open(path).read()
report = begin + "\n" + open(report_file).read().rstrip("\n") + "\n" + end
if begin in text:
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: report, text, flags=re.S)
else:
    text += f"\n## {heading}\n\n{report}\n"
open(path, "w").write(text)
print(f"{sys.argv[0]}: {name} written to {path}")
