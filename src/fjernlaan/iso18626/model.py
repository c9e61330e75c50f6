"""ISO 18626 messages as our own typed, immutable values.

Pure: no XML library, no I/O. ``reader.py`` and ``writer.py`` turn these into bytes and back; the
lending area reads and writes them. One model covers both versions of the standard the hub speaks:

* **2017** — schema ``ISO-18626-v1_2.xsd`` (version attribute ``1.2``; peers also send ``1.0``/``1.1``).
* **2021** — schema ``ISO-18626-2021-2.xsd`` (version attribute ``2021-2``; ``2021-1`` was "1.3").

Both use the namespace ``http://illtransactions.org/2013/iso18626``. Where a data element means the same
thing in both versions it has one field here even if its XML name or position differs; the codec maps it.

Differences between the two schemas (checked element by element against the official XSDs),
2017 → 2021:

* message header: 2017 has one ``header`` for all three messages (supplyingAgencyId, requestingAgencyId,
  multipleItemRequestId — required, usually empty —, timestamp, requestingAgencyRequestId,
  supplyingAgencyRequestId?, requestingAgencyAuthentication?). 2021 has one header type per message:
  request = supplyingAgencyId?, requestingAgencyId, consortialId?, multipleItemRequestId?, timestamp,
  requestingAgencyRequestId, authentication?; supplyingAgencyMessage = supplyingAgencyId,
  requestingAgencyId, timestamp, requestingAgencyRequestId, supplyingAgencyRequestId? (no
  multipleItemRequestId, no authentication); requestingAgencyMessage = supplyingAgencyId,
  requestingAgencyId, consortialId?, timestamp, requestingAgencyRequestId, supplyingAgencyRequestId?,
  authentication?.
* confirmationHeader: 2017 has multipleItemRequestId, 2021 does not; errorData: one → repeatable.
* bibliographicItemId: identifier then code → code then identifier.
* bibliographicInfo: + authorId (ISNI), volume repeatable. publicationInfo: + publisherId.
* serviceInfo: optional → required in a request; requestSubType at most 3 → unbounded; preferredFormat →
  itemFormat; + preferredEdition, loanCondition*; anyEdition deprecated.
* requestedDeliveryInfo: + deliveryMethod, courierName. sortOrder (also supplierInfo) must be >= 0.
* messageInfo: offeredCosts, retryAfter, retryBefore move to the new retryInfo (loanCondition*,
  edition*, itemFormat*, volume*, serviceType, serviceLevel*, deliveryMethod*, courierName*,
  offeredCosts*, paymentMethod*, retryBefore, retryAfter).
* deliveryInfo: itemId one → many; sentVia → deliveryMethod; deliveredFormat → itemFormat; loanCondition
  and deliveryCosts one → many; + URL, address, serviceType, paymentMethod.
* new shippingInfo (courierName, trackingId*, insurance, insuranceThirdParty, thirdPartyName,
  insuranceCosts*).
* physicalAddress/region: scheme/value pair → plain string.
* action: + HoldReturn, Lost (StatusRequest, Received, Cancel, Renew, ShippedReturn, ShippedForward and
  Notification are in both). status: + HoldReturn, ReleaseHoldReturn.

Renew is an action in both versions; there is no "StatusChange" action (StatusChange is a
``ReasonForMessage``). ErrorType, ReasonForMessage, ServiceType, RequestType, RequestSubType and
MessageStatus are the same in both versions.

A value that a version cannot carry (a 2021-only element, or a second value where 2017 allows one) is
reported by :func:`unrepresentable`; the codec refuses to build such a message rather than drop data, so
``parse(build(m, v)) == m`` holds for every message it builds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, TypeAlias

NAMESPACE: Final = "http://illtransactions.org/2013/iso18626"


class Version(StrEnum):
    """The ISO 18626 revision a peer speaks."""

    V2017 = "2017"
    V2021 = "2021"

    @property
    def version_attribute(self) -> str:
        """The value we write in ``ISO18626Message/@version``."""
        return "1.2" if self is Version.V2017 else "2021-2"

    @property
    def schema_file(self) -> str:
        """File name of the official XSD for this version."""
        return "ISO-18626-v1_2.xsd" if self is Version.V2017 else "ISO-18626-2021-2.xsd"


class Status(StrEnum):
    """statusInfo/status: where the supplier is with the request."""

    REQUEST_RECEIVED = "RequestReceived"
    EXPECT_TO_SUPPLY = "ExpectToSupply"
    WILL_SUPPLY = "WillSupply"
    LOANED = "Loaned"
    OVERDUE = "Overdue"
    RECALLED = "Recalled"
    RETRY_POSSIBLE = "RetryPossible"
    UNFILLED = "Unfilled"
    HOLD_RETURN = "HoldReturn"  # 2021 only
    RELEASE_HOLD_RETURN = "ReleaseHoldReturn"  # 2021 only
    COPY_COMPLETED = "CopyCompleted"
    LOAN_COMPLETED = "LoanCompleted"
    COMPLETED_WITHOUT_RETURN = "CompletedWithoutReturn"
    CANCELLED = "Cancelled"


class Action(StrEnum):
    """requestingAgencyMessage/action: what the requester tells the supplier."""

    STATUS_REQUEST = "StatusRequest"
    RECEIVED = "Received"
    CANCEL = "Cancel"
    RENEW = "Renew"
    HOLD_RETURN = "HoldReturn"  # 2021 only
    SHIPPED_RETURN = "ShippedReturn"
    SHIPPED_FORWARD = "ShippedForward"
    NOTIFICATION = "Notification"
    LOST = "Lost"  # 2021 only


class ReasonForMessage(StrEnum):
    """messageInfo/reasonForMessage: why the supplier sends a supplyingAgencyMessage."""

    REQUEST_RESPONSE = "RequestResponse"
    STATUS_REQUEST_RESPONSE = "StatusRequestResponse"
    RENEW_RESPONSE = "RenewResponse"
    CANCEL_RESPONSE = "CancelResponse"
    STATUS_CHANGE = "StatusChange"
    NOTIFICATION = "Notification"


class ErrorType(StrEnum):
    """errorData/errorType: the five ways a confirmation can refuse a message."""

    UNSUPPORTED_ACTION_TYPE = "UnsupportedActionType"
    UNSUPPORTED_REASON_FOR_MESSAGE_TYPE = "UnsupportedReasonForMessageType"
    UNRECOGNISED_DATA_ELEMENT = "UnrecognisedDataElement"
    UNRECOGNISED_DATA_VALUE = "UnrecognisedDataValue"
    BADLY_FORMED_MESSAGE = "BadlyFormedMessage"


class ServiceType(StrEnum):
    """serviceInfo/serviceType: a loan, a copy, or whichever the supplier prefers."""

    COPY = "Copy"
    LOAN = "Loan"
    COPY_OR_LOAN = "CopyOrLoan"


class RequestType(StrEnum):
    """serviceInfo/requestType."""

    NEW = "New"
    RETRY = "Retry"
    REMINDER = "Reminder"


class RequestSubType(StrEnum):
    """serviceInfo/requestSubType."""

    BOOKING_REQUEST = "BookingRequest"
    MULTIPLE_ITEM_REQUEST = "MultipleItemRequest"
    PATRON_REQUEST = "PatronRequest"
    TRANSFER_REQUEST = "TransferRequest"
    SUPPLYING_LIBRARYS_CHOICE = "SupplyingLibrarysChoice"


class PreferredEdition(StrEnum):
    """serviceInfo/preferredEdition (2021 only)."""

    MOST_RECENT_EDITION = "MostRecentEdition"
    THIS_EDITION = "ThisEdition"
    ANY_EDITION = "AnyEdition"


class MessageStatus(StrEnum):
    """confirmationHeader/messageStatus."""

    OK = "OK"
    ERROR = "ERROR"


#: Closed-vocabulary values that exist only in the 2021 schema.
STATUSES_2021_ONLY: Final = frozenset({Status.HOLD_RETURN, Status.RELEASE_HOLD_RETURN})
ACTIONS_2021_ONLY: Final = frozenset({Action.HOLD_RETURN, Action.LOST})


def statuses_for(version: Version) -> frozenset[Status]:
    """The status values the given version's schema allows."""
    every = frozenset(Status)
    return every if version is Version.V2021 else every - STATUSES_2021_ONLY


def actions_for(version: Version) -> frozenset[Action]:
    """The action values the given version's schema allows."""
    every = frozenset(Action)
    return every if version is Version.V2021 else every - ACTIONS_2021_ONLY


# --------------------------------------------------------------------------------------------------
# Small value types
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemeValue:
    """An open-vocabulary code (``type_schemeValuePair``): a value, optionally qualified by a scheme URI."""

    value: str
    scheme: str | None = None


@dataclass(frozen=True, slots=True)
class AgencyId:
    """A library's identifier as (type, value), e.g. ``AgencyId("ISIL", "DK-820010")``."""

    type: str
    value: str
    type_scheme: str | None = None

    def as_tuple(self) -> tuple[str, str]:
        """The (type, value) pair, e.g. ``("ISIL", "DK-820010")``."""
        return (self.type, self.value)


@dataclass(frozen=True, slots=True)
class Costs:
    """An amount of money (``type_costs``): ISO 4217 currency code and a decimal amount."""

    currency: str
    amount: Decimal
    currency_scheme: str | None = None


@dataclass(frozen=True, slots=True)
class Authentication:
    """requestingAgencyAuthentication: the credentials a requester presents to a supplier."""

    account_id: str | None = None
    security_code: str | None = None


@dataclass(frozen=True, slots=True)
class Header:
    """The message header of a request, supplyingAgencyMessage or requestingAgencyMessage.

    ``multiple_item_request_id`` is None when absent or empty (2017 requires the element and peers send
    it empty). ``consortial_id`` exists only in 2021; ``authentication`` is not in a 2021
    supplyingAgencyMessage header; ``supplying_agency_id`` may be absent only in a 2021 request.
    """

    requesting_agency_id: AgencyId
    timestamp: datetime
    requesting_agency_request_id: str
    supplying_agency_id: AgencyId | None = None
    multiple_item_request_id: str | None = None
    supplying_agency_request_id: str | None = None
    authentication: Authentication | None = None
    consortial_id: AgencyId | None = None


# --------------------------------------------------------------------------------------------------
# Request parts
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BibliographicItemId:
    """An identifier of the manifestation, e.g. code ``ISBN`` and the ISBN."""

    code: str
    identifier: str
    code_scheme: str | None = None


@dataclass(frozen=True, slots=True)
class BibliographicRecordId:
    """An identifier of a bibliographic record, e.g. code ``OCLC`` or a local record id."""

    code: str
    identifier: str
    code_scheme: str | None = None


@dataclass(frozen=True, slots=True)
class BibliographicInfo:
    """What is asked for. ``author_id`` is 2021 only; 2017 allows at most one volume."""

    supplier_unique_record_id: str | None = None
    title: str | None = None
    author: str | None = None
    author_id: str | None = None
    subtitle: str | None = None
    series_title: str | None = None
    edition: str | None = None
    title_of_component: str | None = None
    author_of_component: str | None = None
    volumes: tuple[str, ...] = ()
    issue: str | None = None
    pages_requested: str | None = None
    estimated_no_pages: str | None = None
    item_ids: tuple[BibliographicItemId, ...] = ()
    sponsor: str | None = None
    information_source: str | None = None
    record_ids: tuple[BibliographicRecordId, ...] = ()

    def item_id(self, code: str) -> str | None:
        """The first bibliographicItemIdentifier with the given code (case-insensitive), or None."""
        wanted = code.casefold()
        return next((i.identifier for i in self.item_ids if i.code.casefold() == wanted), None)

    @property
    def isbn(self) -> str | None:
        """The first ISBN among the item ids."""
        return self.item_id("ISBN")

    @property
    def issn(self) -> str | None:
        """The first ISSN among the item ids."""
        return self.item_id("ISSN")


@dataclass(frozen=True, slots=True)
class PublicationInfo:
    """publicationInfo. ``publisher_id`` is 2021 only."""

    publisher: str | None = None
    publisher_id: str | None = None
    publication_type: SchemeValue | None = None
    publication_date: str | None = None
    place_of_publication: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """serviceInfo: what kind of service is wanted and by when.

    ``item_format`` is 2017's ``preferredFormat`` and 2021's ``itemFormat``. ``preferred_edition`` and
    ``loan_conditions`` are 2021 only; 2017 allows at most three request subtypes.
    """

    service_type: ServiceType
    request_type: RequestType | None = None
    request_sub_types: tuple[RequestSubType, ...] = ()
    requesting_agency_previous_request_id: str | None = None
    service_level: SchemeValue | None = None
    item_format: SchemeValue | None = None
    need_before_date: datetime | None = None
    copyright_compliance: SchemeValue | None = None
    any_edition: bool | None = None
    preferred_edition: PreferredEdition | None = None
    loan_conditions: tuple[SchemeValue, ...] = ()
    start_date: datetime | None = None
    end_date: datetime | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ElectronicAddress:
    """An e-mail address, URL or similar, typed by a scheme/value code."""

    type: SchemeValue
    data: str


@dataclass(frozen=True, slots=True)
class PhysicalAddress:
    """A postal address. ``region_scheme`` only exists in 2017, where region is a scheme/value pair."""

    line1: str | None = None
    line2: str | None = None
    locality: str | None = None
    postal_code: str | None = None
    region: str | None = None
    region_scheme: str | None = None
    country: SchemeValue | None = None


Address: TypeAlias = ElectronicAddress | PhysicalAddress


@dataclass(frozen=True, slots=True)
class SupplierInfo:
    """supplierInfo: a suggested supplier (2021 requires a non-negative sort order)."""

    sort_order: int | None = None
    supplier_code: AgencyId | None = None
    supplier_description: str | None = None
    record_id: BibliographicRecordId | None = None
    call_number: str | None = None
    summary_holdings: str | None = None
    availability_note: str | None = None


@dataclass(frozen=True, slots=True)
class RequestedDeliveryInfo:
    """requestedDeliveryInfo: where to deliver. ``delivery_method`` and ``courier_name`` are 2021 only."""

    sort_order: int | None = None
    address: Address | None = None
    delivery_method: SchemeValue | None = None
    courier_name: SchemeValue | None = None


@dataclass(frozen=True, slots=True)
class RequestingAgencyInfo:
    """requestingAgencyInfo: the requesting library's name, contact and addresses."""

    name: str | None = None
    contact_name: str | None = None
    addresses: tuple[Address, ...] = ()


@dataclass(frozen=True, slots=True)
class PatronInfo:
    """patronInfo: **personal data** about the patron.

    The hub keeps it only as long as the privacy rule allows and never shows it to a lender; use
    :meth:`Request.without_personal_data` before storing or forwarding where it is not needed.
    """

    PERSONAL_DATA = True

    patron_id: str | None = None
    surname: str | None = None
    given_name: str | None = None
    patron_type: SchemeValue | None = None
    send_to_patron: bool | None = None
    addresses: tuple[Address, ...] = ()


@dataclass(frozen=True, slots=True)
class BillingInfo:
    """billingInfo: how the requester pays and the most it will pay."""

    payment_method: SchemeValue | None = None
    maximum_costs: Costs | None = None
    billing_method: SchemeValue | None = None
    billing_name: str | None = None
    address: Address | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """The ``request`` message: a requester asks a supplier for an item.

    ``patron_info`` is personal data (field metadata ``personal_data=True``); the caller decides whether
    to keep it. ``service_info`` is required in 2021 and optional in 2017.
    """

    header: Header
    bibliographic_info: BibliographicInfo
    service_info: ServiceInfo | None = None
    publication_info: PublicationInfo | None = None
    supplier_infos: tuple[SupplierInfo, ...] = ()
    requested_delivery_infos: tuple[RequestedDeliveryInfo, ...] = ()
    requesting_agency_info: RequestingAgencyInfo | None = None
    patron_info: PatronInfo | None = field(default=None, metadata={"personal_data": True})
    billing_info: BillingInfo | None = None

    def without_personal_data(self) -> Request:
        """The same request with every field marked as personal data removed."""
        # Keep in step with the fields marked personal_data above (a test checks that).
        return replace(self, patron_info=None)


# --------------------------------------------------------------------------------------------------
# Supplying agency message parts
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """messageInfo: why the supplier writes, and its answer.

    ``offered_costs``, ``retry_after`` and ``retry_before`` sit in messageInfo in 2017 and in retryInfo
    in 2021; 2017 allows one offered cost.
    """

    reason_for_message: ReasonForMessage
    answer_yes_no: bool | None = None
    note: str | None = None
    reason_unfilled: SchemeValue | None = None
    reason_retry: SchemeValue | None = None
    offered_costs: tuple[Costs, ...] = ()
    retry_after: datetime | None = None
    retry_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """statusInfo: the supplier's status. ``last_change`` is required by both schemas; the parser
    tolerates its absence (ReShare omits it) but the builder refuses to send without it."""

    status: Status
    last_change: datetime | None = None
    expected_delivery_date: datetime | None = None
    due_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class RetryInfo:
    """retryInfo (2021 only): the conditions under which a retry would succeed.

    Its offeredCosts, retryBefore and retryAfter are carried by :class:`MessageInfo` so that the same
    message means the same thing in both versions.
    """

    loan_conditions: tuple[SchemeValue, ...] = ()
    editions: tuple[str, ...] = ()
    item_formats: tuple[SchemeValue, ...] = ()
    volumes: tuple[str, ...] = ()
    service_type: ServiceType | None = None
    service_levels: tuple[SchemeValue, ...] = ()
    delivery_methods: tuple[SchemeValue, ...] = ()
    courier_names: tuple[SchemeValue, ...] = ()
    payment_methods: tuple[SchemeValue, ...] = ()

    def is_empty(self) -> bool:
        """True when no field is set."""
        return self == RetryInfo()


@dataclass(frozen=True, slots=True)
class DeliveryInfo:
    """deliveryInfo: what was sent, when and how.

    ``delivery_method`` is 2017's ``sentVia``; ``item_format`` is 2017's ``deliveredFormat``. 2017 allows
    one item id, one loan condition and one delivery cost; ``url``, ``address``, ``service_type`` and
    ``payment_method`` are 2021 only. ``date_sent`` is required by both schemas; the parser tolerates its
    absence but the builder refuses to send without it.
    """

    date_sent: datetime | None = None
    item_ids: tuple[str, ...] = ()
    url: str | None = None
    delivery_method: SchemeValue | None = None
    address: Address | None = None
    sent_to_patron: bool | None = None
    loan_conditions: tuple[SchemeValue, ...] = ()
    item_format: SchemeValue | None = None
    service_type: ServiceType | None = None
    delivery_costs: tuple[Costs, ...] = ()
    payment_method: SchemeValue | None = None


@dataclass(frozen=True, slots=True)
class ShippingInfo:
    """shippingInfo (2021 only): courier, tracking and insurance."""

    courier_name: SchemeValue | None = None
    tracking_ids: tuple[str, ...] = ()
    insurance: bool | None = None
    insurance_third_party: bool | None = None
    third_party_name: str | None = None
    insurance_costs: tuple[Costs, ...] = ()


@dataclass(frozen=True, slots=True)
class ReturnInfo:
    """returnInfo: where the requester sends the item back."""

    return_agency_id: AgencyId | None = None
    name: str | None = None
    physical_address: PhysicalAddress | None = None


@dataclass(frozen=True, slots=True)
class SupplyingAgencyMessage:
    """The ``supplyingAgencyMessage``: the supplier tells the requester about the request."""

    header: Header
    message_info: MessageInfo
    status_info: StatusInfo
    delivery_info: DeliveryInfo | None = None
    return_info: ReturnInfo | None = None
    retry_info: RetryInfo | None = None
    shipping_info: ShippingInfo | None = None


@dataclass(frozen=True, slots=True)
class RequestingAgencyMessage:
    """The ``requestingAgencyMessage``: the requester tells the supplier what it did or wants."""

    header: Header
    action: Action
    note: str | None = None


# --------------------------------------------------------------------------------------------------
# Confirmations
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorData:
    """errorData: why a message was refused; ``value`` names the offending element or value."""

    type: ErrorType
    value: str | None = None


@dataclass(frozen=True, slots=True)
class ConfirmationHeader:
    """confirmationHeader. ``multiple_item_request_id`` exists only in 2017."""

    timestamp: datetime
    timestamp_received: datetime
    message_status: MessageStatus
    supplying_agency_id: AgencyId | None = None
    requesting_agency_id: AgencyId | None = None
    requesting_agency_request_id: str | None = None
    multiple_item_request_id: str | None = None


@dataclass(frozen=True, slots=True)
class RequestConfirmation:
    """The ``requestConfirmation`` answering a request (2017 allows one errorData)."""

    header: ConfirmationHeader
    errors: tuple[ErrorData, ...] = ()


@dataclass(frozen=True, slots=True)
class SupplyingAgencyMessageConfirmation:
    """The ``supplyingAgencyMessageConfirmation`` answering a supplyingAgencyMessage."""

    header: ConfirmationHeader
    reason_for_message: ReasonForMessage | None = None
    errors: tuple[ErrorData, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestingAgencyMessageConfirmation:
    """The ``requestingAgencyMessageConfirmation`` answering a requestingAgencyMessage."""

    header: ConfirmationHeader
    action: Action | None = None
    errors: tuple[ErrorData, ...] = ()


Confirmation: TypeAlias = (
    RequestConfirmation | SupplyingAgencyMessageConfirmation | RequestingAgencyMessageConfirmation
)
Message: TypeAlias = Request | SupplyingAgencyMessage | RequestingAgencyMessage | Confirmation

#: The XML element name of each message type.
ELEMENT_NAMES: Final[dict[type[Any], str]] = {
    Request: "request",
    RequestConfirmation: "requestConfirmation",
    SupplyingAgencyMessage: "supplyingAgencyMessage",
    SupplyingAgencyMessageConfirmation: "supplyingAgencyMessageConfirmation",
    RequestingAgencyMessage: "requestingAgencyMessage",
    RequestingAgencyMessageConfirmation: "requestingAgencyMessageConfirmation",
}

#: For each inbound message element, the confirmation element that answers it.
CONFIRMATION_OF: Final[dict[str, str]] = {
    "request": "requestConfirmation",
    "supplyingAgencyMessage": "supplyingAgencyMessageConfirmation",
    "requestingAgencyMessage": "requestingAgencyMessageConfirmation",
}


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """What could still be read from a message that was refused, to address the confirmation."""

    supplying_agency_id: AgencyId | None = None
    requesting_agency_id: AgencyId | None = None
    requesting_agency_request_id: str | None = None
    multiple_item_request_id: str | None = None
    version: Version | None = None
    action: Action | None = None
    reason_for_message: ReasonForMessage | None = None


class Iso18626Error(Exception):
    """An inbound message was refused; ``error_type`` and ``value`` go into the confirmation's errorData.

    ``message_kind`` is the element name of the refused message (``request``,
    ``supplyingAgencyMessage``, ...) when it could be told, else None. ``context`` carries header ids
    that could still be read, so the confirmation can be addressed.
    """

    def __init__(
        self,
        error_type: ErrorType,
        value: str,
        message_kind: str | None = None,
        *,
        context: ErrorContext | None = None,
    ) -> None:
        super().__init__(f"{error_type.value}: {value}")
        self.error_type = error_type
        self.value = value
        self.message_kind = message_kind
        self.context = context

    @property
    def error_data(self) -> ErrorData:
        """The errorData element for the confirmation."""
        return ErrorData(self.error_type, self.value)


class Iso18626BuildError(ValueError):
    """A message cannot be written in the requested version without losing or inventing data."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


# --------------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------------


def _set_fields(obj: object, names: Iterable[str]) -> list[str]:
    """The names among ``names`` whose value on ``obj`` is set (not None, not empty)."""
    return [n for n in names if getattr(obj, n) not in (None, ())]


def _address_problems(address: Address | None, where: str, version: Version) -> list[str]:
    if isinstance(address, PhysicalAddress) and version is Version.V2021 and address.region_scheme:
        return [f"{where}: region scheme is 2017 only"]
    return []


def unrepresentable(message: Message, version: Version) -> list[str]:
    """Why ``message`` cannot be written in ``version`` without losing data; empty when it can.

    Also reports elements the schema of that version requires but the message lacks.
    """
    problems: list[str] = []
    v17 = version is Version.V2017
    if isinstance(message, Request | SupplyingAgencyMessage | RequestingAgencyMessage):
        h = message.header
        kind = ELEMENT_NAMES[type(message)]
        if v17 and h.consortial_id is not None:
            problems.append("header.consortial_id is 2021 only")
        if h.supplying_agency_id is None and (v17 or not isinstance(message, Request)):
            problems.append(f"{kind} header needs supplying_agency_id in {version.value}")
        if not v17 and not isinstance(message, Request) and h.multiple_item_request_id is not None:
            problems.append(f"2021 {kind} header has no multiple_item_request_id")
        if not v17 and isinstance(message, Request) and h.supplying_agency_request_id is not None:
            problems.append("2021 request header has no supplying_agency_request_id")
        if not v17 and isinstance(message, SupplyingAgencyMessage):
            problems += [
                f"2021 supplyingAgencyMessage header has no {n}"
                for n in _set_fields(h, ["authentication", "consortial_id"])
            ]
    if isinstance(message, Request):
        problems += _request_problems(message, version)
    elif isinstance(message, SupplyingAgencyMessage):
        problems += _supplying_problems(message, version)
    elif isinstance(message, RequestingAgencyMessage):
        if v17 and message.action in ACTIONS_2021_ONLY:
            problems.append(f"action {message.action.value} is 2021 only")
    else:
        if v17 and len(message.errors) > 1:
            problems.append("2017 confirmations carry at most one errorData")
        if not v17 and message.header.multiple_item_request_id is not None:
            problems.append("2021 confirmationHeader has no multiple_item_request_id")
        if (
            v17
            and isinstance(message, RequestingAgencyMessageConfirmation)
            and message.action in ACTIONS_2021_ONLY
        ):
            problems.append(f"action {message.action} is 2021 only")
    return problems


def _request_problems(message: Request, version: Version) -> list[str]:
    problems: list[str] = []
    v17 = version is Version.V2017
    bib = message.bibliographic_info
    if v17:
        problems += [f"bibliographic_info.{n} is 2021 only" for n in _set_fields(bib, ["author_id"])]
        if len(bib.volumes) > 1:
            problems.append("2017 allows one volume")
        if message.publication_info is not None and message.publication_info.publisher_id is not None:
            problems.append("publication_info.publisher_id is 2021 only")
        si = message.service_info
        if si is not None:
            problems += [
                f"service_info.{n} is 2021 only"
                for n in _set_fields(si, ["preferred_edition", "loan_conditions"])
            ]
            if len(si.request_sub_types) > 3:
                problems.append("2017 allows at most three request_sub_types")
        for i, rdi in enumerate(message.requested_delivery_infos):
            problems += [
                f"requested_delivery_infos[{i}].{n} is 2021 only"
                for n in _set_fields(rdi, ["delivery_method", "courier_name"])
            ]
    else:
        if message.service_info is None:
            problems.append("2021 request needs service_info")
        sort_orders = [s.sort_order for s in message.supplier_infos] + [
            r.sort_order for r in message.requested_delivery_infos
        ]
        if any(o is not None and o < 0 for o in sort_orders):
            problems.append("2021 sort_order must be >= 0")
    addresses: list[tuple[str, Address | None]] = [
        (f"requested_delivery_infos[{i}].address", r.address)
        for i, r in enumerate(message.requested_delivery_infos)
    ]
    if message.requesting_agency_info is not None:
        addresses += [
            ("requesting_agency_info.addresses", a) for a in message.requesting_agency_info.addresses
        ]
    if message.patron_info is not None:
        addresses += [("patron_info.addresses", a) for a in message.patron_info.addresses]
    if message.billing_info is not None:
        addresses.append(("billing_info.address", message.billing_info.address))
    for where, address in addresses:
        problems += _address_problems(address, where, version)
    return problems


def _supplying_problems(message: SupplyingAgencyMessage, version: Version) -> list[str]:
    problems: list[str] = []
    v17 = version is Version.V2017
    if message.status_info.last_change is None:
        problems.append("status_info.last_change is required")
    if v17:
        if message.status_info.status in STATUSES_2021_ONLY:
            problems.append(f"status {message.status_info.status.value} is 2021 only")
        if message.retry_info is not None:
            problems.append("retry_info is 2021 only")
        if message.shipping_info is not None:
            problems.append("shipping_info is 2021 only")
        if len(message.message_info.offered_costs) > 1:
            problems.append("2017 allows one offered cost")
    di = message.delivery_info
    if di is not None:
        if di.date_sent is None:
            problems.append("delivery_info.date_sent is required")
        if v17:
            problems += [
                f"delivery_info.{n} is 2021 only"
                for n in _set_fields(di, ["url", "address", "service_type", "payment_method"])
            ]
            for name in ("item_ids", "loan_conditions", "delivery_costs"):
                if len(getattr(di, name)) > 1:
                    problems.append(f"2017 allows one delivery_info.{name[:-1]}")
        problems += _address_problems(di.address, "delivery_info.address", version)
    if message.return_info is not None:
        problems += _address_problems(message.return_info.physical_address, "return_info", version)
    return problems


def confirmation_for(
    message: Message | str,
    *,
    timestamp: datetime,
    timestamp_received: datetime,
    errors: Iterable[ErrorData] = (),
    context: ErrorContext | None = None,
) -> Confirmation:
    """The confirmation that answers ``message``: OK when ``errors`` is empty, ERROR otherwise.

    ``message`` is the inbound message, or — when it could not be read — its element name (or any other
    string, which yields a requestConfirmation) together with the ``context`` that could be salvaged.
    The header echoes the agencies and the requester's request id so the peer can match the answer.
    """
    errs = tuple(errors)
    status = MessageStatus.ERROR if errs else MessageStatus.OK
    if isinstance(message, Request | SupplyingAgencyMessage | RequestingAgencyMessage):
        h = message.header
        header = ConfirmationHeader(
            timestamp=timestamp,
            timestamp_received=timestamp_received,
            message_status=status,
            supplying_agency_id=h.supplying_agency_id,
            requesting_agency_id=h.requesting_agency_id,
            requesting_agency_request_id=h.requesting_agency_request_id,
        )
        if isinstance(message, Request):
            return RequestConfirmation(header, errs)
        if isinstance(message, SupplyingAgencyMessage):
            return SupplyingAgencyMessageConfirmation(header, message.message_info.reason_for_message, errs)
        return RequestingAgencyMessageConfirmation(header, message.action, errs)
    if not isinstance(message, str):
        raise TypeError("a confirmation is not answered with a confirmation")
    ctx = context or ErrorContext()
    header = ConfirmationHeader(
        timestamp=timestamp,
        timestamp_received=timestamp_received,
        message_status=status,
        supplying_agency_id=ctx.supplying_agency_id,
        requesting_agency_id=ctx.requesting_agency_id,
        requesting_agency_request_id=ctx.requesting_agency_request_id,
    )
    if message == "supplyingAgencyMessage":
        return SupplyingAgencyMessageConfirmation(header, ctx.reason_for_message, errs)
    if message == "requestingAgencyMessage":
        return RequestingAgencyMessageConfirmation(header, ctx.action, errs)
    # A request, or a message we could not even identify: requestConfirmation is the one confirmation
    # that needs nothing but the confirmationHeader, so it is always valid.
    return RequestConfirmation(header, errs)


def iter_values(obj: object) -> Iterable[object]:
    """Every leaf value inside a message (depth first); handy for checks such as "no patron data"."""
    if is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            yield from iter_values(getattr(obj, f.name))
    elif isinstance(obj, tuple):
        for item in obj:
            yield from iter_values(item)
    else:
        yield obj
