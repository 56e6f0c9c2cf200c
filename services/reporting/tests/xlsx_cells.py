#!/usr/bin/env python3
"""Dumps what an .xlsx file holds, for the export tests to check: a workbook is a zip of XML
parts, read here with the standard library only (zipfile, xml.etree), independently of the
library that wrote it.

    xlsx_cells.py FILE.xlsx

One line per fact, fields separated by tabs:
    sheet   NAME
    pane    TOP_LEFT_CELL  Y_SPLIT  STATE          (a frozen pane)
    col     MIN  MAX  WIDTH
    cell    REF  TYPE  VALUE  NUMBER_FORMAT  BOLD  (TYPE: the <c t=...> attribute, "n" when absent;
                                                   VALUE: a shared string resolved; tabs, CR and LF
                                                   escaped as \\t, \\r, \\n)
"""
import sys
import xml.etree.ElementTree as ET
import zipfile

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# Excel's built-in number formats that the tests may meet (ECMA-376 part 1, 18.8.30).
BUILTIN = {0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 49: "@"}


def escape(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


def text_of(si):
    return "".join(t.text or "" for t in si.iter("{%s}t" % NS["m"]))


def main(path):
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        workbook = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels}
        shared = []
        if "xl/sharedStrings.xml" in names:
            shared = [text_of(si) for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", NS)]
        styles = ET.fromstring(z.read("xl/styles.xml"))
        formats = dict(BUILTIN)
        for f in styles.findall("m:numFmts/m:numFmt", NS):
            formats[int(f.get("numFmtId"))] = f.get("formatCode")
        fonts = [f.find("m:b", NS) is not None for f in styles.findall("m:fonts/m:font", NS)]
        xfs = [(int(x.get("numFmtId", "0")), int(x.get("fontId", "0"))) for x in styles.findall("m:cellXfs/m:xf", NS)]

        for sheet in workbook.findall("m:sheets/m:sheet", NS):
            print("sheet\t%s" % escape(sheet.get("name")))
            target = targets[sheet.get("{%s}id" % R_NS)]
            part = ET.fromstring(z.read("xl/" + target.lstrip("/").replace("xl/", "", 1)))
            for pane in part.iter("{%s}pane" % NS["m"]):
                print("pane\t%s\t%s\t%s" % (pane.get("topLeftCell"), pane.get("ySplit"), pane.get("state")))
            for col in part.findall("m:cols/m:col", NS):
                print("col\t%s\t%s\t%s" % (col.get("min"), col.get("max"), col.get("width")))
            for c in part.iter("{%s}c" % NS["m"]):
                kind = c.get("t", "n")
                v = c.find("m:v", NS)
                value = v.text if v is not None else ""
                if kind == "s":
                    value = shared[int(value)]
                elif kind == "inlineStr":
                    value = text_of(c)
                number_format, font = xfs[int(c.get("s", "0"))]
                print("cell\t%s\t%s\t%s\t%s\t%s" % (c.get("r"), kind, escape(value), formats.get(number_format, "?%d" % number_format),
                                                    "bold" if fonts[font] else "-"))


if __name__ == "__main__":
    main(sys.argv[1])
