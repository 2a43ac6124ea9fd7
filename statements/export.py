"""A statement as .docx in the administrative layout (Decree 30/2020) and as Markdown.

The edited text is the body: its ``## `` lines become section headings. The header is a
two-column table (issuing body and number left, national name, motto, place and date right),
then the centred document type and summary line, the body, the signer and the recipients.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt
from docx.table import _Cell

from statements.draft import DOC_TYPE, MOTTO, NATION
from statements.store import Statement


def _line(
    cell: _Cell, text: str, bold: bool = False, italic: bool = False, first: bool = False
) -> None:
    paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(text)
    run.bold, run.italic = bold, italic


def to_docx(statement: Statement) -> bytes:
    draft = statement.draft
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(13)
    header = document.add_table(rows=1, cols=2)
    left, right = header.rows[0].cells
    _line(left, draft.parent.upper(), first=True)
    _line(left, draft.agency.upper(), bold=True)
    _line(left, draft.number)
    _line(right, NATION, bold=True, first=True)
    _line(right, MOTTO, bold=True)
    _line(right, draft.place_date, italic=True)
    for text, bold in ((DOC_TYPE, True), (draft.summary_line, True)):
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.add_run(text).bold = bold
    for line in statement.current.text.splitlines():
        if line.startswith("## "):
            document.add_heading(line[3:], level=2)
        elif line.strip():
            document.add_paragraph(line)
    signer = document.add_paragraph()
    signer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    signer.add_run(f"{draft.signer_title}\n").bold = True
    signer.add_run(draft.signer_name)
    recipients = document.add_paragraph()
    recipients.add_run("Nơi nhận:").bold = True
    for name in draft.recipients:
        recipients.add_run(f"\n- {name};")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def to_markdown(statement: Statement) -> str:
    draft = statement.draft
    lines = [
        f"{draft.parent.upper()}  " if draft.parent else "",
        f"**{draft.agency.upper()}**  ",
        draft.number,
        "",
        f"**{NATION}**  ",
        f"**{MOTTO}**  ",
        f"*{draft.place_date}*",
        "",
        f"# {DOC_TYPE}",
        f"**{draft.summary_line}**",
        "",
        statement.current.text.strip(),
        "",
        f"**{draft.signer_title}**  ",
        draft.signer_name,
        "",
        "**Nơi nhận:**",
        *(f"- {name};" for name in draft.recipients),
    ]
    return "\n".join(line for line in lines if line is not None).lstrip() + "\n"
