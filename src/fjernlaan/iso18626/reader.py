"""ISO 18626 XML read into the typed messages of :mod:`fjernlaan.iso18626.model`.

:func:`parse` reads inbound bytes, hardened: no DTD (a document with a DOCTYPE is refused, so an XXE or
billion-laughs payload is never expanded), no entity resolution, no network, a size limit and a depth
limit. It is lenient where peers are sloppy and the meaning is clear (see
:mod:`fjernlaan.iso18626.quirks`) and strict where meaning is at stake: an unknown status, action,
reasonForMessage or serviceType raises :class:`Iso18626Error` with the ErrorType the standard names.
Writing is :mod:`fjernlaan.iso18626.writer`, the official XSDs :mod:`fjernlaan.iso18626.schema`.

Error types on parse:

* ``BadlyFormedMessage``: not XML, DOCTYPE present, too big or too deep, unknown root, a required element
  missing, or a typed value (date-time, decimal, integer, boolean) that is not one.
* ``UnsupportedActionType`` / ``UnsupportedReasonForMessageType``: an action or reasonForMessage we do
  not know.
* ``UnrecognisedDataValue``: any other closed-vocabulary value we do not know (status, serviceType,
  requestType, requestSubType, Y/N, messageStatus, errorType, preferredEdition).
* ``UnrecognisedDataElement``: only with ``strict_elements=True``, for an element the schemas do not
  define at that place (:data:`ELEMENT_TABLE`); by default such elements are skipped and listed in
  :attr:`ParsedMessage.unknown_elements`.

Version detection (unless ``version_hint`` is given, e.g. from the peer's directory entry): each element
or ordering that exists in only one schema counts as a vote (e.g. ``multipleItemRequestId`` in a
supplyingAgencyMessage header → 2017; ``bibliographicItemIdentifierCode`` first, ``consortialId``,
``retryInfo`` → 2021). The version attribute (``1.x`` → 2017, ``1.3``/``2021*`` → 2021) only breaks a
tie, because mod-rs sends ``1.0``/``1.2`` with 2021-shaped elements; with no evidence at all we assume 2017.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final, TypeVar

from lxml import etree

from fjernlaan.iso18626.model import (
    NAMESPACE,
    Action,
    Address,
    AgencyId,
    Authentication,
    BibliographicInfo,
    BibliographicItemId,
    BibliographicRecordId,
    BillingInfo,
    Confirmation,
    ConfirmationHeader,
    Costs,
    DeliveryInfo,
    ElectronicAddress,
    ErrorContext,
    ErrorData,
    ErrorType,
    Header,
    Iso18626Error,
    Message,
    MessageInfo,
    MessageStatus,
    PatronInfo,
    PhysicalAddress,
    PreferredEdition,
    PublicationInfo,
    ReasonForMessage,
    Request,
    RequestConfirmation,
    RequestedDeliveryInfo,
    RequestingAgencyInfo,
    RequestingAgencyMessage,
    RequestingAgencyMessageConfirmation,
    RequestSubType,
    RequestType,
    RetryInfo,
    ReturnInfo,
    SchemeValue,
    ServiceInfo,
    ServiceType,
    ShippingInfo,
    Status,
    StatusInfo,
    SupplierInfo,
    SupplyingAgencyMessage,
    SupplyingAgencyMessageConfirmation,
    Version,
)
from fjernlaan.iso18626.quirks import normalise_datetime_text

DEFAULT_MAX_BYTES: Final = 1_000_000
#: ISO 18626 nests at most 6 elements deep (ISO18626Message/request/patronInfo/address/…); 32 is ample.
DEFAULT_MAX_DEPTH: Final = 32

_NS: Final = "{" + NAMESPACE + "}"
_WRAPPER: Final = "ISO18626Message"
_MESSAGE_KINDS: Final = (
    "request",
    "requestConfirmation",
    "supplyingAgencyMessage",
    "supplyingAgencyMessageConfirmation",
    "requestingAgencyMessage",
    "requestingAgencyMessageConfirmation",
)
_E = TypeVar("_E", bound=StrEnum)
_Element = etree._Element


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """An inbound message read by :func:`parse`.

    ``root_tag`` is the document's root tag as received (``{ns}ISO18626Message``, or the bare message
    element when the peer left out the wrapper). ``version_source`` says how ``version`` was decided:
    ``hint``, ``structure``, ``attribute`` or ``default``.
    """

    message: Message
    version: Version
    root_tag: str
    version_source: str
    version_attribute: str | None = None
    unknown_elements: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """The message's element name, e.g. ``supplyingAgencyMessage``."""
        return kind_of(self.message)

    @property
    def wrapped(self) -> bool:
        """False when the peer sent a bare message element without ``ISO18626Message``."""
        return _local(self.root_tag) == _WRAPPER


# --------------------------------------------------------------------------------------------------
# Hardened XML parsing
# --------------------------------------------------------------------------------------------------

_local_state = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads; one per thread, reused.
    parser: etree.XMLParser | None = getattr(_local_state, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        _local_state.parser = parser
    return parser


def _bad(value: str, kind: str | None = None) -> Iso18626Error:
    return Iso18626Error(ErrorType.BADLY_FORMED_MESSAGE, value, kind)


_SNIFF_RE: Final = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(requestingAgencyMessage|supplyingAgencyMessage|request)[\s/>]"
)


def sniff_message_kind(data: bytes) -> str | None:
    """Guess the message element of bytes that are not well-formed XML, to pick the confirmation.

    Looks only at the first 4 kB; returns ``request``, ``supplyingAgencyMessage``,
    ``requestingAgencyMessage`` or None.
    """
    m = _SNIFF_RE.search(bytes(data[:4096]))
    return m[1].decode() if m else None


def read_xml(data: bytes, max_bytes: int, max_depth: int) -> _Element:
    """Parse ``data`` safely (no DTD, no entities, no network, size and depth limits) or raise
    BadlyFormedMessage."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("parse() takes the raw bytes of the message")
    if len(data) > max_bytes:
        raise _bad(
            f"message is {len(data)} bytes, more than the limit of {max_bytes}", sniff_message_kind(data)
        )
    if not data.strip():
        raise _bad("empty message")
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as exc:
        raise _bad(f"not well-formed XML: {exc}", sniff_message_kind(data)) from None
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        # A DTD is never needed for ISO 18626; refusing it outright shuts out XXE and entity bombs.
        raise _bad("DOCTYPE/DTD is not allowed in ISO 18626 messages", sniff_message_kind(data))
    # Evaluated in C: is there any element deeper than the limit? (No DTD means no entity nodes either.)
    if _too_deep(max_depth)(root):
        raise _bad(f"XML nests deeper than {max_depth} elements")
    return root


_depth_checks: dict[int, etree.XPath] = {}


def _too_deep(max_depth: int) -> etree.XPath:
    check = _depth_checks.get(max_depth)
    if check is None:
        check = _depth_checks[max_depth] = etree.XPath("boolean(/" + "*/" * max_depth + "*)")
    return check


def _local(tag: object) -> str | None:
    """The local name of an element in the ISO 18626 namespace (or in no namespace), else None."""
    if not isinstance(tag, str):
        return None
    if tag.startswith(_NS):
        return tag[len(_NS) :]
    if tag.startswith("{"):
        return None
    return tag


# --------------------------------------------------------------------------------------------------
# Reading elements into the model
# --------------------------------------------------------------------------------------------------

_Children = dict[str, list[_Element]]


class _Reader:
    """One pass over a message: builds the model, collects version votes and unknown elements."""

    def __init__(self, kind: str, strict_elements: bool) -> None:
        self.kind = kind
        self.strict = strict_elements
        self.votes_2017: set[str] = set()
        self.votes_2021: set[str] = set()
        self.unknown: list[str] = []

    # -- generic helpers ---------------------------------------------------------------------------

    def children(self, el: _Element, path: str, allowed: frozenset[str]) -> _Children:
        out: _Children = {}
        for child in el:
            tag = child.tag
            if tag.__class__ is not str:
                continue
            # One dict lookup instead of _local(): this loop is the parser's hot path.
            name = _LOCAL_NAMES.get(tag)  # type: ignore[call-overload]
            if name is None or name not in allowed:
                where = f"{path}/{_local(tag) or tag}"
                if self.strict:
                    raise Iso18626Error(ErrorType.UNRECOGNISED_DATA_ELEMENT, where, self.kind)
                self.unknown.append(where)
                continue
            if name in out:
                out[name].append(child)
            else:
                out[name] = [child]
        return out

    def bad(self, value: str) -> Iso18626Error:
        return _bad(value, self.kind)

    @staticmethod
    def text(c: _Children, name: str) -> str | None:
        """Text of the first ``name`` child; an empty element counts as absent."""
        els = c.get(name)
        if not els:
            return None
        return els[0].text or None

    def required_text(self, c: _Children, name: str, path: str) -> str:
        value = self.text(c, name)
        if value is None or not value.strip():
            raise self.bad(f"{path}/{name} is missing or empty")
        return value

    @staticmethod
    def texts(c: _Children, name: str) -> tuple[str, ...]:
        return tuple(el.text for el in c.get(name, ()) if el.text)

    @staticmethod
    def _scheme(el: _Element) -> str | None:
        return el.get(_NS + "scheme") or el.get("scheme") or None

    def scheme_value(self, c: _Children, name: str) -> SchemeValue | None:
        els = c.get(name)
        if not els or not (els[0].text or "").strip():
            return None
        return SchemeValue(els[0].text or "", self._scheme(els[0]))

    def scheme_values(self, c: _Children, name: str) -> tuple[SchemeValue, ...]:
        return tuple(
            SchemeValue(el.text or "", self._scheme(el)) for el in c.get(name, ()) if (el.text or "").strip()
        )

    def enum(self, c: _Children, name: str, cls: type[_E], path: str, error: ErrorType) -> _E | None:
        raw = self.text(c, name)
        if raw is None or not raw.strip():
            return None
        return self.enum_value(raw, cls, f"{path}/{name}", error)

    def enum_value(self, raw: str, cls: type[_E], where: str, error: ErrorType) -> _E:
        value = raw.strip()
        try:
            return cls(value)
        except ValueError:
            pass
        # Peers sometimes get the case wrong; the meaning is still unambiguous.
        folded = value.casefold()
        for member in cls:
            if member.value.casefold() == folded:
                return member
        raise Iso18626Error(error, f"{where}: unknown value {value!r}", self.kind)

    def required_enum(self, c: _Children, name: str, cls: type[_E], path: str, error: ErrorType) -> _E:
        value = self.enum(c, name, cls, path, error)
        if value is None:
            raise self.bad(f"{path}/{name} is missing or empty")
        return value

    def date_time(self, c: _Children, name: str, path: str) -> datetime | None:
        raw = self.text(c, name)
        if raw is None or not raw.strip():
            return None
        return self.date_time_value(raw, f"{path}/{name}")

    def date_time_value(self, raw: str, where: str) -> datetime:
        normal = normalise_datetime_text(raw)
        if normal is None:
            raise self.bad(f"{where}: {raw.strip()[:60]!r} is not an xs:dateTime")
        try:
            return datetime.fromisoformat(normal)
        except ValueError:
            raise self.bad(f"{where}: {raw.strip()[:60]!r} is not a valid date-time") from None

    def required_datetime(self, c: _Children, name: str, path: str) -> datetime:
        value = self.date_time(c, name, path)
        if value is None:
            raise self.bad(f"{path}/{name} is missing or empty")
        return value

    def integer(self, c: _Children, name: str, path: str) -> int | None:
        raw = self.text(c, name)
        if raw is None or not raw.strip():
            return None
        if not re.fullmatch(r"[+-]?\d+", raw.strip()):
            raise self.bad(f"{path}/{name}: {raw.strip()[:40]!r} is not an integer")
        return int(raw)

    def boolean(self, c: _Children, name: str, path: str) -> bool | None:
        raw = self.text(c, name)
        if raw is None or not raw.strip():
            return None
        value = raw.strip().lower()
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise self.bad(f"{path}/{name}: {raw.strip()[:40]!r} is not a boolean")

    def yes_no(self, c: _Children, name: str, path: str) -> bool | None:
        raw = self.text(c, name)
        if raw is None or not raw.strip():
            return None
        value = raw.strip().upper()
        if value in ("Y", "N"):
            return value == "Y"
        raise Iso18626Error(
            ErrorType.UNRECOGNISED_DATA_VALUE, f"{path}/{name}: {raw.strip()[:40]!r} is not Y or N", self.kind
        )

    def costs(self, el: _Element, path: str) -> Costs:
        c = self.children(el, path, _COSTS)
        currency = self.scheme_value(c, "currencyCode")
        raw = self.text(c, "monetaryValue")
        if currency is None or raw is None:
            raise self.bad(f"{path} needs currencyCode and monetaryValue")
        value = raw.strip()
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", value):
            raise self.bad(f"{path}/monetaryValue: {value[:40]!r} is not a decimal")
        try:
            amount = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern already rules this out
            raise self.bad(f"{path}/monetaryValue: {value[:40]!r} is not a decimal") from None
        return Costs(currency.value, amount, currency.scheme)

    def costs_list(self, c: _Children, name: str, path: str) -> tuple[Costs, ...]:
        return tuple(self.costs(el, f"{path}/{name}") for el in c.get(name, ()))

    def agency(self, c: _Children, name: str, path: str) -> AgencyId | None:
        els = c.get(name)
        if not els:
            return None
        where = f"{path}/{name}"
        a = self.children(els[0], where, _AGENCY)
        type_ = self.scheme_value(a, "agencyIdType")
        value = self.text(a, "agencyIdValue")
        if type_ is None or value is None or not value.strip():
            raise self.bad(f"{where} needs agencyIdType and agencyIdValue")
        return AgencyId(type_.value.strip(), value.strip(), type_.scheme)

    # -- parts -------------------------------------------------------------------------------------

    def header(self, c: _Children, path: str) -> Header:
        els = c.get("header")
        if not els:
            raise self.bad(f"{path}/header is missing")
        where = f"{path}/header"
        h = self.children(els[0], where, _HEADER)
        is_request = self.kind == "request"
        if "consortialId" in h:
            self.votes_2021.add("consortialId")
        if is_request:
            if "supplyingAgencyId" not in h:
                self.votes_2021.add("request header without supplyingAgencyId")
            if "multipleItemRequestId" not in h:
                self.votes_2021.add("request header without multipleItemRequestId")
            if "supplyingAgencyRequestId" in h:
                self.votes_2017.add("supplyingAgencyRequestId in request header")
        else:
            if "multipleItemRequestId" in h:
                self.votes_2017.add(f"multipleItemRequestId in {self.kind} header")
            else:
                self.votes_2021.add(f"{self.kind} header without multipleItemRequestId")
            if self.kind == "supplyingAgencyMessage" and "requestingAgencyAuthentication" in h:
                self.votes_2017.add("authentication in supplyingAgencyMessage header")
        supplying = self.agency(h, "supplyingAgencyId", where)
        if supplying is None and not is_request:
            raise self.bad(f"{where}/supplyingAgencyId is missing")
        requesting = self.agency(h, "requestingAgencyId", where)
        if requesting is None:
            raise self.bad(f"{where}/requestingAgencyId is missing")
        auth = None
        if auth_els := h.get("requestingAgencyAuthentication"):
            a = self.children(auth_els[0], f"{where}/requestingAgencyAuthentication", _AUTH)
            auth = Authentication(self.text(a, "accountId"), self.text(a, "securityCode"))
        return Header(
            requesting_agency_id=requesting,
            timestamp=self.required_datetime(h, "timestamp", where),
            requesting_agency_request_id=self.required_text(h, "requestingAgencyRequestId", where),
            supplying_agency_id=supplying,
            multiple_item_request_id=self.text(h, "multipleItemRequestId"),
            supplying_agency_request_id=self.text(h, "supplyingAgencyRequestId"),
            authentication=auth,
            consortial_id=self.agency(h, "consortialId", where),
        )

    def address(self, el: _Element, path: str) -> Address | None:
        c = self.children(el, path, _ADDRESS)
        if e := c.get("electronicAddress"):
            where = f"{path}/electronicAddress"
            ea = self.children(e[0], where, _ELECTRONIC)
            type_ = self.scheme_value(ea, "electronicAddressType")
            return ElectronicAddress(type_ or SchemeValue(""), self.text(ea, "electronicAddressData") or "")
        if p := c.get("physicalAddress"):
            return self.physical_address(p[0], f"{path}/physicalAddress")
        return None

    def addresses(self, c: _Children, path: str) -> tuple[Address, ...]:
        out = (self.address(el, f"{path}/address") for el in c.get("address", ()))
        return tuple(a for a in out if a is not None)

    def physical_address(self, el: _Element, path: str) -> PhysicalAddress:
        c = self.children(el, path, _PHYSICAL)
        region = c.get("region")
        return PhysicalAddress(
            line1=self.text(c, "line1"),
            line2=self.text(c, "line2"),
            locality=self.text(c, "locality"),
            postal_code=self.text(c, "postalCode"),
            region=self.text(c, "region"),
            region_scheme=self._scheme(region[0]) if region and region[0].text else None,
            country=self.scheme_value(c, "country"),
        )

    def record_id(self, el: _Element, path: str) -> BibliographicRecordId:
        c = self.children(el, path, _RECORD_ID)
        code = self.scheme_value(c, "bibliographicRecordIdentifierCode") or SchemeValue("")
        return BibliographicRecordId(
            code.value, self.text(c, "bibliographicRecordIdentifier") or "", code.scheme
        )

    def bibliographic_info(self, c: _Children, path: str) -> BibliographicInfo:
        els = c.get("bibliographicInfo")
        if not els:
            raise self.bad(f"{path}/bibliographicInfo is missing")
        where = f"{path}/bibliographicInfo"
        b = self.children(els[0], where, _BIB)
        item_ids = []
        for el in b.get("bibliographicItemId", ()):
            first = next((_local(ch.tag) for ch in el if isinstance(ch.tag, str)), None)
            if first == "bibliographicItemIdentifierCode":
                self.votes_2021.add("bibliographicItemId code first")
            elif first == "bibliographicItemIdentifier":
                self.votes_2017.add("bibliographicItemId identifier first")
            i = self.children(el, f"{where}/bibliographicItemId", _ITEM_ID)
            code = self.scheme_value(i, "bibliographicItemIdentifierCode")
            ident = self.text(i, "bibliographicItemIdentifier")
            if code is None and ident is None:
                continue
            item_ids.append(
                BibliographicItemId(
                    (code or SchemeValue("")).value, ident or "", code.scheme if code else None
                )
            )
        if "authorId" in b:
            self.votes_2021.add("authorId")
        volumes = self.texts(b, "volume")
        if len(volumes) > 1:
            self.votes_2021.add("repeated volume")
        return BibliographicInfo(
            supplier_unique_record_id=self.text(b, "supplierUniqueRecordId"),
            title=self.text(b, "title"),
            author=self.text(b, "author"),
            author_id=self.text(b, "authorId"),
            subtitle=self.text(b, "subtitle"),
            series_title=self.text(b, "seriesTitle"),
            edition=self.text(b, "edition"),
            title_of_component=self.text(b, "titleOfComponent"),
            author_of_component=self.text(b, "authorOfComponent"),
            volumes=volumes,
            issue=self.text(b, "issue"),
            pages_requested=self.text(b, "pagesRequested"),
            estimated_no_pages=self.text(b, "estimatedNoPages"),
            item_ids=tuple(item_ids),
            sponsor=self.text(b, "sponsor"),
            information_source=self.text(b, "informationSource"),
            record_ids=tuple(
                self.record_id(el, f"{where}/bibliographicRecordId")
                for el in b.get("bibliographicRecordId", ())
            ),
        )

    def service_info(self, el: _Element, path: str) -> ServiceInfo:
        c = self.children(el, path, _SERVICE)
        for name in ("itemFormat", "preferredEdition", "loanCondition"):
            if name in c:
                self.votes_2021.add(f"serviceInfo/{name}")
        if "preferredFormat" in c:
            self.votes_2017.add("serviceInfo/preferredFormat")
        sub_types = tuple(
            self.enum_value(
                el.text, RequestSubType, f"{path}/requestSubType", ErrorType.UNRECOGNISED_DATA_VALUE
            )
            for el in c.get("requestSubType", ())
            if el.text and el.text.strip()
        )
        return ServiceInfo(
            service_type=self.required_enum(
                c, "serviceType", ServiceType, path, ErrorType.UNRECOGNISED_DATA_VALUE
            ),
            request_type=self.enum(c, "requestType", RequestType, path, ErrorType.UNRECOGNISED_DATA_VALUE),
            request_sub_types=sub_types,
            requesting_agency_previous_request_id=self.text(c, "requestingAgencyPreviousRequestId"),
            service_level=self.scheme_value(c, "serviceLevel"),
            item_format=self.scheme_value(c, "itemFormat") or self.scheme_value(c, "preferredFormat"),
            need_before_date=self.date_time(c, "needBeforeDate", path),
            copyright_compliance=self.scheme_value(c, "copyrightCompliance"),
            any_edition=self.yes_no(c, "anyEdition", path),
            preferred_edition=self.enum(
                c, "preferredEdition", PreferredEdition, path, ErrorType.UNRECOGNISED_DATA_VALUE
            ),
            loan_conditions=self.scheme_values(c, "loanCondition"),
            start_date=self.date_time(c, "startDate", path),
            end_date=self.date_time(c, "endDate", path),
            note=self.text(c, "note"),
        )

    def request(self, el: _Element) -> Request:
        path = "request"
        c = self.children(el, path, _REQUEST)
        header = self.header(c, path)
        bib = self.bibliographic_info(c, path)
        service = None
        if s := c.get("serviceInfo"):
            service = self.service_info(s[0], f"{path}/serviceInfo")
        else:
            self.votes_2017.add("request without serviceInfo")
        publication = None
        if p := c.get("publicationInfo"):
            where = f"{path}/publicationInfo"
            pc = self.children(p[0], where, _PUBLICATION)
            if "publisherId" in pc:
                self.votes_2021.add("publisherId")
            publication = PublicationInfo(
                publisher=self.text(pc, "publisher"),
                publisher_id=self.text(pc, "publisherId"),
                publication_type=self.scheme_value(pc, "publicationType"),
                publication_date=self.text(pc, "publicationDate"),
                place_of_publication=self.text(pc, "placeOfPublication"),
            )
        suppliers = []
        for s_el in c.get("supplierInfo", ()):
            where = f"{path}/supplierInfo"
            sc = self.children(s_el, where, _SUPPLIER)
            rec = sc.get("bibliographicRecordId")
            suppliers.append(
                SupplierInfo(
                    sort_order=self.integer(sc, "sortOrder", where),
                    supplier_code=self.agency(sc, "supplierCode", where),
                    supplier_description=self.text(sc, "supplierDescription"),
                    record_id=self.record_id(rec[0], f"{where}/bibliographicRecordId") if rec else None,
                    call_number=self.text(sc, "callNumber"),
                    summary_holdings=self.text(sc, "summaryHoldings"),
                    availability_note=self.text(sc, "availabilityNote"),
                )
            )
        deliveries = []
        for d_el in c.get("requestedDeliveryInfo", ()):
            where = f"{path}/requestedDeliveryInfo"
            dc = self.children(d_el, where, _REQ_DELIVERY)
            for name in ("deliveryMethod", "courierName"):
                if name in dc:
                    self.votes_2021.add(f"requestedDeliveryInfo/{name}")
            addr = dc.get("address")
            deliveries.append(
                RequestedDeliveryInfo(
                    sort_order=self.integer(dc, "sortOrder", where),
                    address=self.address(addr[0], f"{where}/address") if addr else None,
                    delivery_method=self.scheme_value(dc, "deliveryMethod"),
                    courier_name=self.scheme_value(dc, "courierName"),
                )
            )
        agency_info = None
        if a := c.get("requestingAgencyInfo"):
            where = f"{path}/requestingAgencyInfo"
            ac = self.children(a[0], where, _AGENCY_INFO)
            agency_info = RequestingAgencyInfo(
                self.text(ac, "name"), self.text(ac, "contactName"), self.addresses(ac, where)
            )
        patron = None
        if p := c.get("patronInfo"):
            where = f"{path}/patronInfo"
            pc = self.children(p[0], where, _PATRON)
            patron = PatronInfo(
                patron_id=self.text(pc, "patronId"),
                surname=self.text(pc, "surname"),
                given_name=self.text(pc, "givenName"),
                patron_type=self.scheme_value(pc, "patronType"),
                send_to_patron=self.yes_no(pc, "sendToPatron", where),
                addresses=self.addresses(pc, where),
            )
        billing = None
        if b := c.get("billingInfo"):
            where = f"{path}/billingInfo"
            bc = self.children(b[0], where, _BILLING)
            max_costs = bc.get("maximumCosts")
            addr = bc.get("address")
            billing = BillingInfo(
                payment_method=self.scheme_value(bc, "paymentMethod"),
                maximum_costs=self.costs(max_costs[0], f"{where}/maximumCosts") if max_costs else None,
                billing_method=self.scheme_value(bc, "billingMethod"),
                billing_name=self.text(bc, "billingName"),
                address=self.address(addr[0], f"{where}/address") if addr else None,
            )
        return Request(
            header=header,
            bibliographic_info=bib,
            service_info=service,
            publication_info=publication,
            supplier_infos=tuple(suppliers),
            requested_delivery_infos=tuple(deliveries),
            requesting_agency_info=agency_info,
            patron_info=patron,
            billing_info=billing,
        )

    def supplying_agency_message(self, el: _Element) -> SupplyingAgencyMessage:
        path = "supplyingAgencyMessage"
        c = self.children(el, path, _SAM)
        header = self.header(c, path)
        m = c.get("messageInfo")
        if not m:
            raise self.bad(f"{path}/messageInfo is missing")
        where = f"{path}/messageInfo"
        mc = self.children(m[0], where, _MESSAGE_INFO)
        reason = self.required_enum(
            mc, "reasonForMessage", ReasonForMessage, where, ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE
        )
        s = c.get("statusInfo")
        if not s:
            raise self.bad(f"{path}/statusInfo is missing")
        swhere = f"{path}/statusInfo"
        sc = self.children(s[0], swhere, _STATUS_INFO)
        status = self.required_enum(sc, "status", Status, swhere, ErrorType.UNRECOGNISED_DATA_VALUE)
        if status in (Status.HOLD_RETURN, Status.RELEASE_HOLD_RETURN):
            self.votes_2021.add(f"status {status.value}")
        status_info = StatusInfo(
            status=status,
            last_change=self.date_time(sc, "lastChange", swhere),
            expected_delivery_date=self.date_time(sc, "expectedDeliveryDate", swhere),
            due_date=self.date_time(sc, "dueDate", swhere),
        )
        offered = self.costs_list(mc, "offeredCosts", where)
        retry_after = self.date_time(mc, "retryAfter", where)
        retry_before = self.date_time(mc, "retryBefore", where)
        for name in ("offeredCosts", "retryAfter", "retryBefore"):
            if name in mc:
                self.votes_2017.add(f"messageInfo/{name}")
        retry_info = None
        if r := c.get("retryInfo"):
            self.votes_2021.add("retryInfo")
            rwhere = f"{path}/retryInfo"
            rc = self.children(r[0], rwhere, _RETRY)
            offered += self.costs_list(rc, "offeredCosts", rwhere)
            retry_after = retry_after or self.date_time(rc, "retryAfter", rwhere)
            retry_before = retry_before or self.date_time(rc, "retryBefore", rwhere)
            retry_info = RetryInfo(
                loan_conditions=self.scheme_values(rc, "loanCondition"),
                editions=self.texts(rc, "edition"),
                item_formats=self.scheme_values(rc, "itemFormat"),
                volumes=self.texts(rc, "volume"),
                service_type=self.enum(
                    rc, "serviceType", ServiceType, rwhere, ErrorType.UNRECOGNISED_DATA_VALUE
                ),
                service_levels=self.scheme_values(rc, "serviceLevel"),
                delivery_methods=self.scheme_values(rc, "deliveryMethod"),
                courier_names=self.scheme_values(rc, "courierName"),
                payment_methods=self.scheme_values(rc, "paymentMethod"),
            )
            if retry_info.is_empty():
                retry_info = None
        message_info = MessageInfo(
            reason_for_message=reason,
            answer_yes_no=self.yes_no(mc, "answerYesNo", where),
            note=self.text(mc, "note"),
            reason_unfilled=self.scheme_value(mc, "reasonUnfilled"),
            reason_retry=self.scheme_value(mc, "reasonRetry"),
            offered_costs=offered,
            retry_after=retry_after,
            retry_before=retry_before,
        )
        delivery = None
        if d := c.get("deliveryInfo"):
            delivery = self.delivery_info(d[0], f"{path}/deliveryInfo")
        shipping = None
        if sh := c.get("shippingInfo"):
            self.votes_2021.add("shippingInfo")
            shwhere = f"{path}/shippingInfo"
            shc = self.children(sh[0], shwhere, _SHIPPING)
            shipping = ShippingInfo(
                courier_name=self.scheme_value(shc, "courierName"),
                tracking_ids=self.texts(shc, "trackingId"),
                insurance=self.yes_no(shc, "insurance", shwhere),
                insurance_third_party=self.yes_no(shc, "insuranceThirdParty", shwhere),
                third_party_name=self.text(shc, "thirdPartyName"),
                insurance_costs=self.costs_list(shc, "insuranceCosts", shwhere),
            )
        return_info = None
        if ri := c.get("returnInfo"):
            rwhere = f"{path}/returnInfo"
            rc = self.children(ri[0], rwhere, _RETURN)
            phys = rc.get("physicalAddress")
            return_info = ReturnInfo(
                return_agency_id=self.agency(rc, "returnAgencyId", rwhere),
                name=self.text(rc, "name"),
                physical_address=self.physical_address(phys[0], f"{rwhere}/physicalAddress")
                if phys
                else None,
            )
        return SupplyingAgencyMessage(
            header, message_info, status_info, delivery, return_info, retry_info, shipping
        )

    def delivery_info(self, el: _Element, path: str) -> DeliveryInfo | None:
        c = self.children(el, path, _DELIVERY)
        for name in ("sentVia", "deliveredFormat"):
            if name in c:
                self.votes_2017.add(f"deliveryInfo/{name}")
        for name in ("URL", "deliveryMethod", "address", "itemFormat", "serviceType", "paymentMethod"):
            if name in c:
                self.votes_2021.add(f"deliveryInfo/{name}")
        for name in ("itemId", "loanCondition", "deliveryCosts"):
            if len(c.get(name, ())) > 1:
                self.votes_2021.add(f"repeated deliveryInfo/{name}")
        addr = c.get("address")
        info = DeliveryInfo(
            date_sent=self.date_time(c, "dateSent", path),
            item_ids=self.texts(c, "itemId"),
            url=self.text(c, "URL"),
            delivery_method=self.scheme_value(c, "deliveryMethod") or self.scheme_value(c, "sentVia"),
            address=self.address(addr[0], f"{path}/address") if addr else None,
            sent_to_patron=self.boolean(c, "sentToPatron", path),
            loan_conditions=self.scheme_values(c, "loanCondition"),
            item_format=self.scheme_value(c, "itemFormat") or self.scheme_value(c, "deliveredFormat"),
            service_type=self.enum(c, "serviceType", ServiceType, path, ErrorType.UNRECOGNISED_DATA_VALUE),
            delivery_costs=self.costs_list(c, "deliveryCosts", path),
            payment_method=self.scheme_value(c, "paymentMethod"),
        )
        # ReShare sends <deliveryInfo><loanCondition/></deliveryInfo> meaning "nothing delivered".
        return None if info == DeliveryInfo() else info

    def requesting_agency_message(self, el: _Element) -> RequestingAgencyMessage:
        path = "requestingAgencyMessage"
        c = self.children(el, path, _RAM)
        header = self.header(c, path)
        action = self.required_enum(c, "action", Action, path, ErrorType.UNSUPPORTED_ACTION_TYPE)
        if action in (Action.HOLD_RETURN, Action.LOST):
            self.votes_2021.add(f"action {action.value}")
        return RequestingAgencyMessage(header, action, self.text(c, "note"))

    def confirmation_header(self, c: _Children, path: str) -> ConfirmationHeader:
        els = c.get("confirmationHeader")
        if not els:
            raise self.bad(f"{path}/confirmationHeader is missing")
        where = f"{path}/confirmationHeader"
        h = self.children(els[0], where, _CONF_HEADER)
        if "multipleItemRequestId" in h:
            self.votes_2017.add("multipleItemRequestId in confirmationHeader")
        return ConfirmationHeader(
            timestamp=self.required_datetime(h, "timestamp", where),
            timestamp_received=self.required_datetime(h, "timestampReceived", where),
            message_status=self.required_enum(
                h, "messageStatus", MessageStatus, where, ErrorType.UNRECOGNISED_DATA_VALUE
            ),
            supplying_agency_id=self.agency(h, "supplyingAgencyId", where),
            requesting_agency_id=self.agency(h, "requestingAgencyId", where),
            requesting_agency_request_id=self.text(h, "requestingAgencyRequestId"),
            multiple_item_request_id=self.text(h, "multipleItemRequestId"),
        )

    def errors(self, c: _Children, path: str) -> tuple[ErrorData, ...]:
        els = c.get("errorData", [])
        if len(els) > 1:
            self.votes_2021.add("repeated errorData")
        out = []
        for el in els:
            where = f"{path}/errorData"
            ec = self.children(el, where, _ERROR)
            error_type = self.required_enum(
                ec, "errorType", ErrorType, where, ErrorType.UNRECOGNISED_DATA_VALUE
            )
            out.append(ErrorData(error_type, self.text(ec, "errorValue")))
        return tuple(out)

    def confirmation(self, el: _Element, kind: str) -> Confirmation:
        c = self.children(el, kind, _CONFIRMATIONS[kind])
        header = self.confirmation_header(c, kind)
        errors = self.errors(c, kind)
        if kind == "requestConfirmation":
            return RequestConfirmation(header, errors)
        if kind == "supplyingAgencyMessageConfirmation":
            reason = self.enum(
                c, "reasonForMessage", ReasonForMessage, kind, ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE
            )
            return SupplyingAgencyMessageConfirmation(header, reason, errors)
        action = self.enum(c, "action", Action, kind, ErrorType.UNSUPPORTED_ACTION_TYPE)
        return RequestingAgencyMessageConfirmation(header, action, errors)


def _names(*names: str) -> frozenset[str]:
    return frozenset(names)


# The union of what the 2017 and 2021 schemas allow at each place.
_AGENCY = _names("agencyIdType", "agencyIdValue")
_AUTH = _names("accountId", "securityCode")
_COSTS = _names("currencyCode", "monetaryValue")
_HEADER = _names(
    "supplyingAgencyId",
    "requestingAgencyId",
    "consortialId",
    "multipleItemRequestId",
    "timestamp",
    "requestingAgencyRequestId",
    "supplyingAgencyRequestId",
    "requestingAgencyAuthentication",
)
_ADDRESS = _names("electronicAddress", "physicalAddress")
_ELECTRONIC = _names("electronicAddressType", "electronicAddressData")
_PHYSICAL = _names("line1", "line2", "locality", "postalCode", "region", "country")
_ITEM_ID = _names("bibliographicItemIdentifier", "bibliographicItemIdentifierCode")
_RECORD_ID = _names("bibliographicRecordIdentifierCode", "bibliographicRecordIdentifier")
_BIB = _names(
    "supplierUniqueRecordId",
    "title",
    "author",
    "authorId",
    "subtitle",
    "seriesTitle",
    "edition",
    "titleOfComponent",
    "authorOfComponent",
    "volume",
    "issue",
    "pagesRequested",
    "estimatedNoPages",
    "bibliographicItemId",
    "sponsor",
    "informationSource",
    "bibliographicRecordId",
)
_PUBLICATION = _names("publisher", "publisherId", "publicationType", "publicationDate", "placeOfPublication")
_SERVICE = _names(
    "requestType",
    "requestSubType",
    "requestingAgencyPreviousRequestId",
    "serviceType",
    "serviceLevel",
    "preferredFormat",
    "itemFormat",
    "needBeforeDate",
    "copyrightCompliance",
    "anyEdition",
    "preferredEdition",
    "loanCondition",
    "startDate",
    "endDate",
    "note",
)
_SUPPLIER = _names(
    "sortOrder",
    "supplierCode",
    "supplierDescription",
    "bibliographicRecordId",
    "callNumber",
    "summaryHoldings",
    "availabilityNote",
)
_REQ_DELIVERY = _names("sortOrder", "address", "deliveryMethod", "courierName")
_AGENCY_INFO = _names("name", "contactName", "address")
_PATRON = _names("patronId", "surname", "givenName", "patronType", "sendToPatron", "address")
_BILLING = _names("paymentMethod", "maximumCosts", "billingMethod", "billingName", "address")
_REQUEST = _names(
    "header",
    "bibliographicInfo",
    "publicationInfo",
    "serviceInfo",
    "supplierInfo",
    "requestedDeliveryInfo",
    "requestingAgencyInfo",
    "patronInfo",
    "billingInfo",
)
_SAM = _names(
    "header", "messageInfo", "statusInfo", "retryInfo", "deliveryInfo", "shippingInfo", "returnInfo"
)
_MESSAGE_INFO = _names(
    "reasonForMessage",
    "answerYesNo",
    "note",
    "reasonUnfilled",
    "reasonRetry",
    "offeredCosts",
    "retryAfter",
    "retryBefore",
)
_STATUS_INFO = _names("status", "expectedDeliveryDate", "dueDate", "lastChange")
_RETRY = _names(
    "loanCondition",
    "edition",
    "itemFormat",
    "volume",
    "serviceType",
    "serviceLevel",
    "deliveryMethod",
    "courierName",
    "offeredCosts",
    "paymentMethod",
    "retryBefore",
    "retryAfter",
)
_DELIVERY = _names(
    "dateSent",
    "itemId",
    "URL",
    "sentVia",
    "deliveryMethod",
    "address",
    "sentToPatron",
    "loanCondition",
    "deliveredFormat",
    "itemFormat",
    "serviceType",
    "deliveryCosts",
    "paymentMethod",
)
_SHIPPING = _names(
    "courierName", "trackingId", "insurance", "insuranceThirdParty", "thirdPartyName", "insuranceCosts"
)
_RETURN = _names("returnAgencyId", "name", "physicalAddress")
_RAM = _names("header", "action", "note")
_CONF_HEADER = _names(
    "supplyingAgencyId",
    "requestingAgencyId",
    "timestamp",
    "requestingAgencyRequestId",
    "multipleItemRequestId",
    "timestampReceived",
    "messageStatus",
)
_ERROR = _names("errorType", "errorValue")
_CONFIRMATIONS = {
    "requestConfirmation": _names("confirmationHeader", "errorData"),
    "supplyingAgencyMessageConfirmation": _names("confirmationHeader", "reasonForMessage", "errorData"),
    "requestingAgencyMessageConfirmation": _names("confirmationHeader", "action", "errorData"),
}


#: The element table: at each place (an element, or a named XSD type such as ``type_agencyId``), the
#: child elements the reader knows, the union of what the 2017 and 2021 schemas allow there (a test
#: checks it against the official XSDs). Anything else is an unknown element.
ELEMENT_TABLE: Final[Mapping[str, frozenset[str]]] = {
    "type_agencyId": _AGENCY,
    "requestingAgencyAuthentication": _AUTH,
    "type_costs": _COSTS,
    "header": _HEADER,
    "address": _ADDRESS,
    "electronicAddress": _ELECTRONIC,
    "physicalAddress": _PHYSICAL,
    "bibliographicItemId": _ITEM_ID,
    "bibliographicRecordId": _RECORD_ID,
    "bibliographicInfo": _BIB,
    "publicationInfo": _PUBLICATION,
    "serviceInfo": _SERVICE,
    "supplierInfo": _SUPPLIER,
    "requestedDeliveryInfo": _REQ_DELIVERY,
    "requestingAgencyInfo": _AGENCY_INFO,
    "patronInfo": _PATRON,
    "billingInfo": _BILLING,
    "request": _REQUEST,
    "supplyingAgencyMessage": _SAM,
    "messageInfo": _MESSAGE_INFO,
    "statusInfo": _STATUS_INFO,
    "retryInfo": _RETRY,
    "deliveryInfo": _DELIVERY,
    "shippingInfo": _SHIPPING,
    "returnInfo": _RETURN,
    "requestingAgencyMessage": _RAM,
    "confirmationHeader": _CONF_HEADER,
    "errorData": _ERROR,
    **_CONFIRMATIONS,
}
_ALL_NAMES: Final = frozenset().union(*ELEMENT_TABLE.values())
# Both the namespaced tag and the bare name (peers that forget the namespace) map to the local name.
_LOCAL_NAMES: Final[dict[str, str]] = {**{n: n for n in _ALL_NAMES}, **{_NS + n: n for n in _ALL_NAMES}}


def _version_from_attribute(value: str | None) -> Version | None:
    if not value:
        return None
    v = value.strip()
    if v == "1.3" or v.startswith("2021"):
        return Version.V2021
    if v.startswith("1."):
        return Version.V2017
    return None


def _salvage(message_el: _Element, kind: str, version: Version | None) -> ErrorContext:
    """Best effort: the header ids of a refused message, for addressing the confirmation."""
    reader = _Reader(kind, strict_elements=False)

    def attempt(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Iso18626Error:
            return None

    c = reader.children(message_el, kind, _names("header", "action", "messageInfo"))
    h: _Children = {}
    if header := c.get("header"):
        h = reader.children(header[0], "header", _HEADER)
    reason = None
    if m := c.get("messageInfo"):
        mc = reader.children(m[0], "messageInfo", _MESSAGE_INFO)
        reason = attempt(
            lambda: reader.enum(
                mc, "reasonForMessage", ReasonForMessage, "", ErrorType.UNRECOGNISED_DATA_VALUE
            )
        )
    return ErrorContext(
        supplying_agency_id=attempt(lambda: reader.agency(h, "supplyingAgencyId", "")),
        requesting_agency_id=attempt(lambda: reader.agency(h, "requestingAgencyId", "")),
        requesting_agency_request_id=reader.text(h, "requestingAgencyRequestId"),
        multiple_item_request_id=reader.text(h, "multipleItemRequestId"),
        action=attempt(lambda: reader.enum(c, "action", Action, "", ErrorType.UNRECOGNISED_DATA_VALUE)),
        reason_for_message=reason,
        version=version,
    )


def parse(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    version_hint: Version | None = None,
    strict_elements: bool = False,
) -> ParsedMessage:
    """Read one inbound ISO 18626 message.

    Raises :class:`Iso18626Error` (see the module docstring for which ErrorType when). With
    ``version_hint`` the version is taken as given; otherwise it is detected from the structure.
    """
    root = read_xml(data, max_bytes, max_depth)
    root_name = _local(root.tag)
    version_attribute: str | None = None
    if root_name == _WRAPPER:
        version_attribute = root.get(_NS + "version") or root.get("version")
        children = [ch for ch in root if isinstance(ch.tag, str)]
        if len(children) != 1:
            raise _bad(f"ISO18626Message must hold exactly one message element, found {len(children)}")
        message_el = children[0]
        kind = _local(message_el.tag)
    else:
        # mod-rs and others post bare confirmation elements; the meaning is unambiguous.
        message_el = root
        kind = root_name
    if kind not in _MESSAGE_KINDS:
        raise _bad(f"unknown message element {message_el.tag!r}")
    assert kind is not None
    reader = _Reader(kind, strict_elements)
    try:
        message: Message
        if kind == "request":
            message = reader.request(message_el)
        elif kind == "supplyingAgencyMessage":
            message = reader.supplying_agency_message(message_el)
        elif kind == "requestingAgencyMessage":
            message = reader.requesting_agency_message(message_el)
        else:
            message = reader.confirmation(message_el, kind)
    except Iso18626Error as exc:
        if exc.context is None and kind in ("request", "supplyingAgencyMessage", "requestingAgencyMessage"):
            exc.context = _salvage(
                message_el, kind, version_hint or _version_from_attribute(version_attribute)
            )
        raise
    version, source = _decide_version(version_hint, reader, version_attribute)
    return ParsedMessage(
        message=message,
        version=version,
        root_tag=str(root.tag),
        version_source=source,
        version_attribute=version_attribute,
        unknown_elements=tuple(reader.unknown),
    )


def _decide_version(hint: Version | None, reader: _Reader, attribute: str | None) -> tuple[Version, str]:
    if hint is not None:
        return hint, "hint"
    score = len(reader.votes_2021) - len(reader.votes_2017)
    if score > 0:
        return Version.V2021, "structure"
    if score < 0:
        return Version.V2017, "structure"
    from_attribute = _version_from_attribute(attribute)
    if from_attribute is not None:
        return from_attribute, "attribute"
    return Version.V2017, "default"


def kind_of(message: Message) -> str:
    """The element name of a message, e.g. ``supplyingAgencyMessage``."""
    if isinstance(message, Request):
        return "request"
    if isinstance(message, SupplyingAgencyMessage):
        return "supplyingAgencyMessage"
    if isinstance(message, RequestingAgencyMessage):
        return "requestingAgencyMessage"
    if isinstance(message, RequestConfirmation):
        return "requestConfirmation"
    if isinstance(message, SupplyingAgencyMessageConfirmation):
        return "supplyingAgencyMessageConfirmation"
    return "requestingAgencyMessageConfirmation"
