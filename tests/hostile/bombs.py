"""Resource bombs for the hostile-input tests and benchmarks/bench_hostile.py.

Generated at run time (never committed): each is small on disk, or compresses well, but
was reproduced to cost minutes and gigabytes before reading was bounded (issue 8).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

HEADER = "service_id,name,service_type,provider,latitude,longitude,serves,capacity"


def dimension_bomb_xlsx(path: Path, *, value: str | None = "x") -> Path:
    """A ~5 KB workbook: a real one-row service list plus one cell at XFD1048576.

    openpyxl then declares the sheet A1:XFD1048576, and a reader that pads rows to the
    declared size builds a million rows of 16,384 cells. `value=None` leaves the far cell
    empty but styled (formatting dragged to the corner: still declares the full size).
    """
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Services"
    ws.append(HEADER.split(","))
    ws.append(["A1", "Alpha IDVA", "idva", "Alpha Aid", 52.5, -1.5, "", 2.5])
    far = ws["XFD1048576"]
    if value is None:
        far.font = Font(bold=True)
    else:
        far.value = value
    wb.save(path)
    return path


def many_rows_csv(path: Path, rows: int = 1_000_000) -> Path:
    """A service list of `rows` tiny rows (1M rows is about 19 MB: under the byte limit)."""
    line = "S,n,idva,p,52,-1,,1\n"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\n")
        f.write(line * rows)
    return path


def many_columns_csv(path: Path, columns: int = 16_384) -> Path:
    """A service list whose header and one data row have `columns` columns (about 133 KB)."""
    header = HEADER.split(",") + [f"c{i}" for i in range(len(HEADER.split(",")), columns)]
    row = ["A1", "Alpha IDVA", "idva", "Alpha Aid", "52.5", "-1.5", "", "2.5"] + ["1"] * (columns - 8)
    path.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    return path


def shared_strings_xlsx(path: Path, strings: list[str], repeat: int = 1) -> Path:
    """The one-row service workbook plus a shared-string table holding `strings`, `repeat` times.

    12 million copies of "a" zip to 500 KB and unpack to 200 MB of XML, which openpyxl
    took minutes and 1.2 GB to read before the workbook was even open.
    """
    template = dimension_bomb_xlsx(path.with_suffix(".template.xlsx"), value=None)
    table = "".join(f"<si><t>{s}</t></si>" for s in strings).encode() * repeat
    sst = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + table + b"</sst>"
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/officeDocument/'
                    b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
                )
            dst.writestr(info.filename, data)
        dst.writestr("xl/sharedStrings.xml", sst)
    return path
