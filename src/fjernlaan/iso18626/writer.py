"""The typed messages of :mod:`fjernlaan.iso18626.model` written as ISO 18626 XML.

* :func:`build` writes a message in one version; it refuses (``Iso18626BuildError``) a message that the
  version cannot carry, so everything it writes is schema-valid and parses back to the same value.
* :func:`build_validated` does the same and checks the tree against the official XSD as built.
* :func:`build_confirmation` answers any inbound message — parsed, refused, or unreadable.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from lxml import etree

from fjernlaan.iso18626.model import (
    NAMESPACE,
    Address,
    AgencyId,
    BibliographicRecordId,
    Confirmation,
    Costs,
    DeliveryInfo,
    ElectronicAddress,
    ErrorContext,
    ErrorData,
    Header,
    Iso18626BuildError,
    Iso18626Error,
    Message,
    PhysicalAddress,
    Request,
    RequestingAgencyMessage,
    RequestingAgencyMessageConfirmation,
    RetryInfo,
    SchemeValue,
    ServiceInfo,
    SupplyingAgencyMessage,
    SupplyingAgencyMessageConfirmation,
    Version,
    confirmation_for,
    unrepresentable,
)
from fjernlaan.iso18626.reader import ParsedMessage, kind_of
from fjernlaan.iso18626.schema import schema_for

_NS: Final = "{" + NAMESPACE + "}"
_WRAPPER: Final = "ISO18626Message"
_SCHEMA_LOCATION: Final = {
    Version.V2017: f"{NAMESPACE} http://illtransactions.org/schemas/ISO-18626-v1_2.xsd",
    Version.V2021: f"{NAMESPACE} http://illtransactions.org/schemas/ISO-18626-2021-2.xsd",
}
_XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
_Element = etree._Element


# --------------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------------


def _format_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        # Our own timestamps are always aware; a naive one is a bug upstream, read it as UTC.
        value = value.replace(tzinfo=UTC)
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _format_decimal(value: Decimal) -> str:
    return format(value, "f")


class _Writer:
    """Writes one message in one version, in that schema's element order."""

    def __init__(self, version: Version) -> None:
        self.version = version
        self.v17 = version is Version.V2017

    @staticmethod
    def el(parent: _Element, name: str, text: str | None = None) -> _Element:
        child = etree.SubElement(parent, _NS + name)
        if text is not None:
            child.text = text
        return child

    def opt(self, parent: _Element, name: str, text: str | None) -> None:
        if text is not None:
            self.el(parent, name, text)

    def sv(self, parent: _Element, name: str, value: SchemeValue | None) -> None:
        if value is not None:
            child = self.el(parent, name, value.value)
            if value.scheme is not None:
                child.set(_NS + "scheme", value.scheme)

    def svs(self, parent: _Element, name: str, values: tuple[SchemeValue, ...]) -> None:
        for value in values:
            self.sv(parent, name, value)

    def dt(self, parent: _Element, name: str, value: datetime | None) -> None:
        if value is not None:
            self.el(parent, name, _format_datetime(value))

    def yn(self, parent: _Element, name: str, value: bool | None) -> None:
        if value is not None:
            self.el(parent, name, "Y" if value else "N")

    def agency(self, parent: _Element, name: str, value: AgencyId | None) -> None:
        if value is not None:
            a = self.el(parent, name)
            self.sv(a, "agencyIdType", SchemeValue(value.type, value.type_scheme))
            self.el(a, "agencyIdValue", value.value)

    def costs(self, parent: _Element, name: str, value: Costs | None) -> None:
        if value is not None:
            c = self.el(parent, name)
            self.sv(c, "currencyCode", SchemeValue(value.currency, value.currency_scheme))
            self.el(c, "monetaryValue", _format_decimal(value.amount))

    def physical(self, parent: _Element, value: PhysicalAddress) -> None:
        p = self.el(parent, "physicalAddress")
        self.opt(p, "line1", value.line1)
        self.opt(p, "line2", value.line2)
        self.opt(p, "locality", value.locality)
        self.opt(p, "postalCode", value.postal_code)
        if value.region is not None:
            # 2017: scheme/value pair; 2021: plain string.
            self.sv(p, "region", SchemeValue(value.region, value.region_scheme if self.v17 else None))
        self.sv(p, "country", value.country)

    def address(self, parent: _Element, value: Address | None) -> None:
        if value is None:
            return
        a = self.el(parent, "address")
        if isinstance(value, ElectronicAddress):
            e = self.el(a, "electronicAddress")
            self.sv(e, "electronicAddressType", value.type)
            self.el(e, "electronicAddressData", value.data)
        else:
            self.physical(a, value)

    def record_id(self, parent: _Element, value: BibliographicRecordId) -> None:
        r = self.el(parent, "bibliographicRecordId")
        self.sv(r, "bibliographicRecordIdentifierCode", SchemeValue(value.code, value.code_scheme))
        self.el(r, "bibliographicRecordIdentifier", value.identifier)

    def header(self, parent: _Element, h: Header, kind: str) -> None:
        x = self.el(parent, "header")
        self.agency(x, "supplyingAgencyId", h.supplying_agency_id)
        self.agency(x, "requestingAgencyId", h.requesting_agency_id)
        if self.v17:
            self.el(x, "multipleItemRequestId", h.multiple_item_request_id or "")
        else:
            if kind != "supplyingAgencyMessage":
                self.agency(x, "consortialId", h.consortial_id)
            if kind == "request":
                self.opt(x, "multipleItemRequestId", h.multiple_item_request_id)
        self.dt(x, "timestamp", h.timestamp)
        self.el(x, "requestingAgencyRequestId", h.requesting_agency_request_id)
        if self.v17 or kind != "request":
            self.opt(x, "supplyingAgencyRequestId", h.supplying_agency_request_id)
        if (self.v17 or kind != "supplyingAgencyMessage") and h.authentication is not None:
            a = self.el(x, "requestingAgencyAuthentication")
            self.opt(a, "accountId", h.authentication.account_id)
            self.opt(a, "securityCode", h.authentication.security_code)

    def request(self, parent: _Element, m: Request) -> None:
        r = self.el(parent, "request")
        self.header(r, m.header, "request")
        b = self.el(r, "bibliographicInfo")
        bib = m.bibliographic_info
        self.opt(b, "supplierUniqueRecordId", bib.supplier_unique_record_id)
        self.opt(b, "title", bib.title)
        self.opt(b, "author", bib.author)
        if not self.v17:
            self.opt(b, "authorId", bib.author_id)
        self.opt(b, "subtitle", bib.subtitle)
        self.opt(b, "seriesTitle", bib.series_title)
        self.opt(b, "edition", bib.edition)
        self.opt(b, "titleOfComponent", bib.title_of_component)
        self.opt(b, "authorOfComponent", bib.author_of_component)
        for volume in bib.volumes:
            self.el(b, "volume", volume)
        self.opt(b, "issue", bib.issue)
        self.opt(b, "pagesRequested", bib.pages_requested)
        self.opt(b, "estimatedNoPages", bib.estimated_no_pages)
        for item in bib.item_ids:
            i = self.el(b, "bibliographicItemId")
            code = SchemeValue(item.code, item.code_scheme)
            if self.v17:
                self.el(i, "bibliographicItemIdentifier", item.identifier)
                self.sv(i, "bibliographicItemIdentifierCode", code)
            else:
                self.sv(i, "bibliographicItemIdentifierCode", code)
                self.el(i, "bibliographicItemIdentifier", item.identifier)
        self.opt(b, "sponsor", bib.sponsor)
        self.opt(b, "informationSource", bib.information_source)
        for rec in bib.record_ids:
            self.record_id(b, rec)
        if (pub := m.publication_info) is not None:
            p = self.el(r, "publicationInfo")
            self.opt(p, "publisher", pub.publisher)
            if not self.v17:
                self.opt(p, "publisherId", pub.publisher_id)
            self.sv(p, "publicationType", pub.publication_type)
            self.opt(p, "publicationDate", pub.publication_date)
            self.opt(p, "placeOfPublication", pub.place_of_publication)
        if (si := m.service_info) is not None:
            self.service_info(r, si)
        for sup in m.supplier_infos:
            s = self.el(r, "supplierInfo")
            self.opt(s, "sortOrder", None if sup.sort_order is None else str(sup.sort_order))
            self.agency(s, "supplierCode", sup.supplier_code)
            self.opt(s, "supplierDescription", sup.supplier_description)
            if sup.record_id is not None:
                self.record_id(s, sup.record_id)
            self.opt(s, "callNumber", sup.call_number)
            self.opt(s, "summaryHoldings", sup.summary_holdings)
            self.opt(s, "availabilityNote", sup.availability_note)
        for rdi in m.requested_delivery_infos:
            d = self.el(r, "requestedDeliveryInfo")
            self.opt(d, "sortOrder", None if rdi.sort_order is None else str(rdi.sort_order))
            self.address(d, rdi.address)
            if not self.v17:
                self.sv(d, "deliveryMethod", rdi.delivery_method)
                self.sv(d, "courierName", rdi.courier_name)
        if (ai := m.requesting_agency_info) is not None:
            a = self.el(r, "requestingAgencyInfo")
            self.opt(a, "name", ai.name)
            self.opt(a, "contactName", ai.contact_name)
            for addr in ai.addresses:
                self.address(a, addr)
        if (pi := m.patron_info) is not None:
            p = self.el(r, "patronInfo")
            self.opt(p, "patronId", pi.patron_id)
            self.opt(p, "surname", pi.surname)
            self.opt(p, "givenName", pi.given_name)
            self.sv(p, "patronType", pi.patron_type)
            self.yn(p, "sendToPatron", pi.send_to_patron)
            for addr in pi.addresses:
                self.address(p, addr)
        if (bi := m.billing_info) is not None:
            x = self.el(r, "billingInfo")
            self.sv(x, "paymentMethod", bi.payment_method)
            self.costs(x, "maximumCosts", bi.maximum_costs)
            self.sv(x, "billingMethod", bi.billing_method)
            self.opt(x, "billingName", bi.billing_name)
            self.address(x, bi.address)

    def service_info(self, parent: _Element, si: ServiceInfo) -> None:
        s = self.el(parent, "serviceInfo")
        self.opt(s, "requestType", si.request_type)
        for sub in si.request_sub_types:
            self.el(s, "requestSubType", sub.value)
        self.opt(s, "requestingAgencyPreviousRequestId", si.requesting_agency_previous_request_id)
        self.el(s, "serviceType", si.service_type.value)
        self.sv(s, "serviceLevel", si.service_level)
        self.sv(s, "preferredFormat" if self.v17 else "itemFormat", si.item_format)
        self.dt(s, "needBeforeDate", si.need_before_date)
        self.sv(s, "copyrightCompliance", si.copyright_compliance)
        self.yn(s, "anyEdition", si.any_edition)
        if not self.v17:
            self.opt(s, "preferredEdition", si.preferred_edition)
            self.svs(s, "loanCondition", si.loan_conditions)
        self.dt(s, "startDate", si.start_date)
        self.dt(s, "endDate", si.end_date)
        self.opt(s, "note", si.note)

    def supplying_agency_message(self, parent: _Element, m: SupplyingAgencyMessage) -> None:
        x = self.el(parent, "supplyingAgencyMessage")
        self.header(x, m.header, "supplyingAgencyMessage")
        mi = m.message_info
        i = self.el(x, "messageInfo")
        self.el(i, "reasonForMessage", mi.reason_for_message.value)
        self.yn(i, "answerYesNo", mi.answer_yes_no)
        self.opt(i, "note", mi.note)
        self.sv(i, "reasonUnfilled", mi.reason_unfilled)
        self.sv(i, "reasonRetry", mi.reason_retry)
        if self.v17:
            for cost in mi.offered_costs:
                self.costs(i, "offeredCosts", cost)
            self.dt(i, "retryAfter", mi.retry_after)
            self.dt(i, "retryBefore", mi.retry_before)
        si = m.status_info
        s = self.el(x, "statusInfo")
        self.el(s, "status", si.status.value)
        self.dt(s, "expectedDeliveryDate", si.expected_delivery_date)
        self.dt(s, "dueDate", si.due_date)
        self.dt(s, "lastChange", si.last_change)
        if not self.v17 and (
            m.retry_info is not None
            or mi.offered_costs
            or mi.retry_after is not None
            or mi.retry_before is not None
        ):
            ri = m.retry_info or RetryInfo()
            r = self.el(x, "retryInfo")
            self.svs(r, "loanCondition", ri.loan_conditions)
            for edition in ri.editions:
                self.el(r, "edition", edition)
            self.svs(r, "itemFormat", ri.item_formats)
            for volume in ri.volumes:
                self.el(r, "volume", volume)
            self.opt(r, "serviceType", ri.service_type)
            self.svs(r, "serviceLevel", ri.service_levels)
            self.svs(r, "deliveryMethod", ri.delivery_methods)
            self.svs(r, "courierName", ri.courier_names)
            for cost in mi.offered_costs:
                self.costs(r, "offeredCosts", cost)
            self.svs(r, "paymentMethod", ri.payment_methods)
            self.dt(r, "retryBefore", mi.retry_before)
            self.dt(r, "retryAfter", mi.retry_after)
        if (di := m.delivery_info) is not None:
            self.delivery_info(x, di)
        if not self.v17 and (sh := m.shipping_info) is not None:
            y = self.el(x, "shippingInfo")
            self.sv(y, "courierName", sh.courier_name)
            for tracking in sh.tracking_ids:
                self.el(y, "trackingId", tracking)
            self.yn(y, "insurance", sh.insurance)
            self.yn(y, "insuranceThirdParty", sh.insurance_third_party)
            self.opt(y, "thirdPartyName", sh.third_party_name)
            for cost in sh.insurance_costs:
                self.costs(y, "insuranceCosts", cost)
        if (ret := m.return_info) is not None:
            y = self.el(x, "returnInfo")
            self.agency(y, "returnAgencyId", ret.return_agency_id)
            self.opt(y, "name", ret.name)
            if ret.physical_address is not None:
                self.physical(y, ret.physical_address)

    def delivery_info(self, parent: _Element, di: DeliveryInfo) -> None:
        d = self.el(parent, "deliveryInfo")
        self.dt(d, "dateSent", di.date_sent)
        for item in di.item_ids:
            self.el(d, "itemId", item)
        if self.v17:
            self.sv(d, "sentVia", di.delivery_method)
        else:
            self.opt(d, "URL", di.url)
            self.sv(d, "deliveryMethod", di.delivery_method)
            self.address(d, di.address)
        if di.sent_to_patron is not None:
            self.el(d, "sentToPatron", "true" if di.sent_to_patron else "false")
        self.svs(d, "loanCondition", di.loan_conditions)
        self.sv(d, "deliveredFormat" if self.v17 else "itemFormat", di.item_format)
        if not self.v17:
            self.opt(d, "serviceType", di.service_type)
        for cost in di.delivery_costs:
            self.costs(d, "deliveryCosts", cost)
        if not self.v17:
            self.sv(d, "paymentMethod", di.payment_method)

    def requesting_agency_message(self, parent: _Element, m: RequestingAgencyMessage) -> None:
        x = self.el(parent, "requestingAgencyMessage")
        self.header(x, m.header, "requestingAgencyMessage")
        self.el(x, "action", m.action.value)
        self.opt(x, "note", m.note)

    def confirmation(self, parent: _Element, m: Confirmation) -> None:
        x = self.el(parent, kind_of(m))
        h = m.header
        c = self.el(x, "confirmationHeader")
        self.agency(c, "supplyingAgencyId", h.supplying_agency_id)
        self.agency(c, "requestingAgencyId", h.requesting_agency_id)
        self.dt(c, "timestamp", h.timestamp)
        self.opt(c, "requestingAgencyRequestId", h.requesting_agency_request_id)
        if self.v17:
            self.opt(c, "multipleItemRequestId", h.multiple_item_request_id)
        self.dt(c, "timestampReceived", h.timestamp_received)
        self.el(c, "messageStatus", h.message_status.value)
        if isinstance(m, SupplyingAgencyMessageConfirmation):
            self.opt(x, "reasonForMessage", m.reason_for_message)
        elif isinstance(m, RequestingAgencyMessageConfirmation):
            self.opt(x, "action", m.action)
        for error in m.errors:
            e = self.el(x, "errorData")
            self.el(e, "errorType", error.type.value)
            self.opt(e, "errorValue", error.value)


def build(message: Message, version: Version) -> bytes:
    """Write ``message`` as a complete ISO 18626 document (UTF-8, with the ISO18626Message wrapper).

    Raises :class:`Iso18626BuildError` if ``version`` cannot carry the message (see
    :func:`fjernlaan.iso18626.model.unrepresentable`).
    """
    return _serialise(_document(message, version))


def build_validated(
    message: Message, version: Version, *, xsd_dir: Path | str | None = None
) -> tuple[bytes, list[str]]:
    """:func:`build`, and the document's problems against the official XSD of ``version`` (empty if it
    validates), in one pass: the tree is checked as built instead of being parsed back from its bytes.

    Raises :class:`Iso18626BuildError` like :func:`build`, and XsdUnavailableError when the XSD cannot
    be found.
    """
    root = _document(message, version)
    schema = schema_for(version, xsd_dir=xsd_dir)
    problems: list[str] = []
    if not schema.validate(root):
        log: Any = schema.error_log
        problems = [f"{e.path}: {e.message}" for e in log]
    return _serialise(root), problems


def _serialise(root: _Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _document(message: Message, version: Version) -> _Element:
    problems = unrepresentable(message, version)
    if problems:
        raise Iso18626BuildError(problems)
    root = etree.Element(_NS + _WRAPPER, nsmap={None: NAMESPACE, "ill": NAMESPACE, "xsi": _XSI})  # type: ignore[dict-item]
    # attributeFormDefault="qualified": the version attribute must carry the namespace.
    root.set(_NS + "version", version.version_attribute)
    root.set(f"{{{_XSI}}}schemaLocation", _SCHEMA_LOCATION[version])
    writer = _Writer(version)
    if isinstance(message, Request):
        writer.request(root, message)
    elif isinstance(message, SupplyingAgencyMessage):
        writer.supplying_agency_message(root, message)
    elif isinstance(message, RequestingAgencyMessage):
        writer.requesting_agency_message(root, message)
    else:
        writer.confirmation(root, message)
    return root


def build_confirmation(
    inbound: ParsedMessage | Iso18626Error,
    *,
    timestamp_received: datetime,
    timestamp: datetime | None = None,
    version: Version | None = None,
    errors: tuple[ErrorData, ...] = (),
) -> bytes:
    """The confirmation document answering an inbound message, ready to send.

    * a :class:`ParsedMessage` gets OK, or ERROR when the caller passes ``errors`` (e.g. a business
      rule refused it: unknown request id);
    * an :class:`Iso18626Error` from :func:`parse` gets ERROR with its errorType and errorValue, in the
      confirmation matching the refused message. When the message could not be identified at all (not
      XML, DOCTYPE, unknown root) we answer with a **requestConfirmation**: it is the one confirmation
      that needs nothing but the confirmationHeader, and the first message a new peer sends is a
      request. The HTTP layer may also use status 400 for that case.

    The version is ``version``, else the inbound message's, else the error context's, else 2017.
    ``timestamp`` (the confirmation's own) defaults to ``timestamp_received``.
    """
    now = timestamp or timestamp_received  # the caller's clock; the codec never reads the wall clock
    if isinstance(inbound, ParsedMessage):
        confirmation = confirmation_for(
            inbound.message, timestamp=now, timestamp_received=timestamp_received, errors=errors
        )
        chosen = version or inbound.version
    else:
        ctx = inbound.context or ErrorContext()
        confirmation = confirmation_for(
            inbound.message_kind or "",
            timestamp=now,
            timestamp_received=timestamp_received,
            errors=(inbound.error_data, *errors),
            context=ctx,
        )
        chosen = version or ctx.version or Version.V2017
    if chosen is Version.V2017 and len(confirmation.errors) > 1:
        confirmation = _first_error_only(confirmation)
    return build(confirmation, chosen)


def _first_error_only(c: Confirmation) -> Confirmation:
    return replace(c, errors=c.errors[:1])
