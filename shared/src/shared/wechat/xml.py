"""Parsing untrusted push XML and building reply XML."""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from shared.wechat.errors import MalformedXML

__all__ = ["MalformedXML", "build_xml", "parse_xml", "text_reply"]

MAX_XML_BYTES = 256 * 1024  # real pushes are a few KB; anything larger is not WeChat
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# Characters XML 1.0 cannot carry at all, not even inside CDATA.
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def parse_xml(body: bytes, max_bytes: int = MAX_XML_BYTES) -> dict[str, Any]:
    """Parse a push body into a dict of the ``<xml>`` children.

    Leaf elements become strings. Elements with children (the mini-program's
    ``<List>`` items and their wrappers) become lists of dicts, one per
    occurrence, so one item and several look the same. A repeated leaf is
    rejected: WeChat never sends one and it would make fields ambiguous.
    """
    if len(body) > max_bytes:
        raise MalformedXML("XML body too large")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise MalformedXML(f"unacceptable XML: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise MalformedXML("root element must be <xml>")
    return _children(root)


def _children(element: Element) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for child in element:
        tag = child.tag
        if len(child):
            existing = result.setdefault(tag, [])
            if not isinstance(existing, list):
                raise MalformedXML(f"element {tag} is both a leaf and a container")
            existing.append(_children(child))
        elif tag in result:
            raise MalformedXML(f"repeated element {tag}")
        else:
            result[tag] = child.text or ""
    return result


def _cdata(value: str) -> str:
    value = _INVALID_XML_CHARS.sub("", value)
    # "]]>" cannot appear inside CDATA: close the section between "]]" and ">".
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _render(name: str, value: Any) -> str:
    if not _NAME.match(name):
        raise ValueError(f"invalid XML element name: {name!r}")
    if isinstance(value, bool):
        raise TypeError(f"{name}: booleans have no WeChat XML form")
    if isinstance(value, int | float):
        inner = str(value)
    elif isinstance(value, str):
        inner = _cdata(value)
    elif isinstance(value, dict):
        inner = "".join(_render(k, v) for k, v in value.items())
    elif isinstance(value, list):
        # A list renders as the element repeated, e.g. <List> items or news <item>s.
        return "".join(_render(name, item) for item in value)
    elif value is None:
        inner = ""
    else:
        raise TypeError(f"{name}: cannot render {type(value).__name__} as XML")
    return f"<{name}>{inner}</{name}>"


def build_xml(fields: dict[str, Any]) -> str:
    """Render ``fields`` as ``<xml>…</xml>``: strings as CDATA, numbers plain, dicts nested."""
    return "<xml>" + "".join(_render(k, v) for k, v in fields.items()) + "</xml>"


def text_reply(to_user: str, from_user: str, content: str, create_time: int) -> str:
    """A passive text reply to a push (``to_user`` is the user's openid)."""
    return build_xml(
        {
            "ToUserName": to_user,
            "FromUserName": from_user,
            "CreateTime": int(create_time),
            "MsgType": "text",
            "Content": content,
        }
    )
