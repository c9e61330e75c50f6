"""Hand-written messages (with Danish text) and hypothesis strategies for every message type and version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import strategies as st

from fjernlaan.iso18626.model import (
    ACTIONS_2021_ONLY,
    STATUSES_2021_ONLY,
    Action,
    AgencyId,
    Authentication,
    BibliographicInfo,
    BibliographicItemId,
    BibliographicRecordId,
    BillingInfo,
    ConfirmationHeader,
    Costs,
    DeliveryInfo,
    ElectronicAddress,
    ErrorData,
    ErrorType,
    Header,
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

CPH = timezone(timedelta(hours=1))
T0 = datetime(2025, 3, 4, 9, 30, tzinfo=CPH)
LENDER = AgencyId("ISIL", "DK-820010")
BORROWER = AgencyId("ISIL", "DK-710100")


def full_request(version: Version) -> Request:
    """A request using every field the version can carry."""
    v21 = version is Version.V2021
    region_scheme = None if v21 else "http://example.org/iso3166-2"
    address = PhysicalAddress(
        "Krystalgade 15",
        "2. sal",
        "København K",
        "1172",
        "Hovedstaden",
        region_scheme,
        SchemeValue("DK", "http://example.org/iso3166-1"),
    )
    return Request(
        header=Header(
            requesting_agency_id=BORROWER,
            timestamp=T0,
            requesting_agency_request_id="KBH-2025-000123",
            supplying_agency_id=LENDER,
            multiple_item_request_id="multi-1",
            supplying_agency_request_id=None,
            authentication=Authentication("konto-7", "hemmelig"),
            consortial_id=AgencyId("ISIL", "DK-LAANESAMARBEJDET") if v21 else None,
        ),
        bibliographic_info=BibliographicInfo(
            supplier_unique_record_id="870970-basis:12345678",
            title="Kongens Fald",
            author="Jensen, Johannes V.",
            author_id="0000000121032683" if v21 else None,
            subtitle="Roman i tre dele – Sommerens død, Den store vinter, Vinterens død",
            series_title="Danske klassikere",
            edition="7. udgave",
            title_of_component="Sommerens død",
            author_of_component="Johannes V. Jensen",
            volumes=("1", "2") if v21 else ("1",),
            issue="3",
            pages_requested="12-34",
            estimated_no_pages="22",
            item_ids=(BibliographicItemId("ISBN", "9788702173413"), BibliographicItemId("ISSN", "0105-0931")),
            sponsor="Slots- og Kulturstyrelsen",
            information_source="DanBib",
            record_ids=(BibliographicRecordId("faust", "12345678", "http://dbc.dk/faust"),),
        ),
        service_info=ServiceInfo(
            service_type=ServiceType.LOAN,
            request_type=RequestType.NEW,
            request_sub_types=(RequestSubType.PATRON_REQUEST,),
            requesting_agency_previous_request_id="KBH-2024-999",
            service_level=SchemeValue("Normal"),
            item_format=SchemeValue("PrintedBook"),
            need_before_date=T0 + timedelta(days=30),
            copyright_compliance=SchemeValue("DK-CopyDan"),
            any_edition=True,
            preferred_edition=PreferredEdition.ANY_EDITION if v21 else None,
            loan_conditions=(SchemeValue("LibraryUseOnly"),) if v21 else (),
            start_date=T0,
            end_date=T0 + timedelta(days=60),
            note="Låneren ønsker bogen på dansk; æøå ÆØÅ",
        ),
        publication_info=PublicationInfo(
            publisher="Gyldendal",
            publisher_id="0000000405431018" if v21 else None,
            publication_type=SchemeValue("Book"),
            publication_date="1901",
            place_of_publication="København",
        ),
        supplier_infos=(
            SupplierInfo(
                1,
                LENDER,
                "Det Kgl. Bibliotek",
                BibliographicRecordId("local", "kb-1"),
                "86 Jen",
                "1 eks.",
                "Hjemme",
            ),
        ),
        requested_delivery_infos=(
            RequestedDeliveryInfo(
                sort_order=0,
                address=address,
                delivery_method=SchemeValue("Courier") if v21 else None,
                courier_name=SchemeValue("Kørselsordningen") if v21 else None,
            ),
            RequestedDeliveryInfo(1, ElectronicAddress(SchemeValue("Email"), "fjernlaan@kk.dk")),
        ),
        requesting_agency_info=RequestingAgencyInfo("Københavns Biblioteker", "Søren Ørsted", (address,)),
        patron_info=PatronInfo(
            "1234567890",
            "Ærø",
            "Åse",
            SchemeValue("Voksen"),
            False,
            (ElectronicAddress(SchemeValue("Email"), "aase@example.dk"),),
        ),
        billing_info=BillingInfo(
            SchemeValue("Invoice"),
            Costs("DKK", Decimal("25.00")),
            SchemeValue("Account"),
            "Københavns Kommune",
            address,
        ),
    )


def minimal_request(version: Version) -> Request:
    """A request with only what the version requires."""
    return Request(
        header=Header(BORROWER, T0, "KBH-1", supplying_agency_id=LENDER),
        bibliographic_info=BibliographicInfo(title="Æblet falder"),
        service_info=ServiceInfo(ServiceType.COPY) if version is Version.V2021 else None,
    )


def full_supplying_agency_message(version: Version) -> SupplyingAgencyMessage:
    """A supplyingAgencyMessage using every field the version can carry."""
    v21 = version is Version.V2021
    return SupplyingAgencyMessage(
        header=Header(
            requesting_agency_id=BORROWER,
            timestamp=T0,
            requesting_agency_request_id="KBH-2025-000123",
            supplying_agency_id=LENDER,
            multiple_item_request_id=None if v21 else "multi-1",
            supplying_agency_request_id="KB-77",
            authentication=None if v21 else Authentication("konto-7"),
        ),
        message_info=MessageInfo(
            reason_for_message=ReasonForMessage.STATUS_CHANGE,
            answer_yes_no=True,
            note="Sendt med kørselsordningen – husk at returnere inden forfald. æøå",
            reason_unfilled=SchemeValue("NotOnShelf"),
            reason_retry=SchemeValue("CostExceedsMaxCost"),
            offered_costs=(Costs("DKK", Decimal("25")), Costs("EUR", Decimal("3.35")))
            if v21
            else (Costs("DKK", Decimal("25")),),
            retry_after=T0 + timedelta(days=1),
            retry_before=T0 + timedelta(days=10),
        ),
        status_info=StatusInfo(Status.LOANED, T0, T0 + timedelta(days=2), T0 + timedelta(days=42)),
        delivery_info=DeliveryInfo(
            date_sent=T0,
            item_ids=("3001234567", "3001234568") if v21 else ("3001234567",),
            url="https://example.dk/scan.pdf" if v21 else None,
            delivery_method=SchemeValue("Courier"),
            address=PhysicalAddress("Krystalgade 15", region="Hovedstaden") if v21 else None,
            sent_to_patron=False,
            loan_conditions=(SchemeValue("LibraryUseOnly"), SchemeValue("NoReproduction"))
            if v21
            else (SchemeValue("LibraryUseOnly"),),
            item_format=SchemeValue("PrintedBook"),
            service_type=ServiceType.LOAN if v21 else None,
            delivery_costs=(Costs("DKK", Decimal("0")),),
            payment_method=SchemeValue("Invoice") if v21 else None,
        ),
        return_info=ReturnInfo(
            LENDER,
            "Det Kgl. Bibliotek, Fjernlån",
            PhysicalAddress("Søren Kierkegaards Plads 1", locality="København K"),
        ),
        retry_info=RetryInfo(
            loan_conditions=(SchemeValue("LibraryUseOnly"),),
            editions=("2. udgave",),
            item_formats=(SchemeValue("Microfilm"),),
            volumes=("2",),
            service_type=ServiceType.COPY,
            service_levels=(SchemeValue("Express"),),
            delivery_methods=(SchemeValue("Mail"),),
            courier_names=(SchemeValue("PostNord"),),
            payment_methods=(SchemeValue("Invoice"),),
        )
        if v21
        else None,
        shipping_info=ShippingInfo(
            SchemeValue("PostNord"),
            ("00370712345678901234",),
            True,
            False,
            "Tryg",
            (Costs("DKK", Decimal("49.95")),),
        )
        if v21
        else None,
    )


def full_requesting_agency_message(version: Version) -> RequestingAgencyMessage:
    """A requestingAgencyMessage using every header field the version can carry."""
    v21 = version is Version.V2021
    return RequestingAgencyMessage(
        header=Header(
            requesting_agency_id=BORROWER,
            timestamp=T0,
            requesting_agency_request_id="KBH-2025-000123",
            supplying_agency_id=LENDER,
            multiple_item_request_id=None if v21 else "multi-1",
            supplying_agency_request_id="KB-77",
            authentication=Authentication("konto-7", "hemmelig"),
            consortial_id=AgencyId("ISIL", "DK-LAANESAMARBEJDET") if v21 else None,
        ),
        action=Action.LOST if v21 else Action.SHIPPED_RETURN,
        note="Bogen er sendt retur – med tak fra Århus",
    )


def confirmation_header(version: Version, status: MessageStatus = MessageStatus.OK) -> ConfirmationHeader:
    """A confirmationHeader using every field the version can carry."""
    return ConfirmationHeader(
        timestamp=T0 + timedelta(seconds=1),
        timestamp_received=T0,
        message_status=status,
        supplying_agency_id=LENDER,
        requesting_agency_id=BORROWER,
        requesting_agency_request_id="KBH-2025-000123",
        multiple_item_request_id="multi-1" if version is Version.V2017 else None,
    )


def all_examples(version: Version) -> dict[str, Message]:
    """One full example of every message type (and a minimal request) in ``version``."""
    v21 = version is Version.V2021
    errors = (
        (
            ErrorData(ErrorType.UNRECOGNISED_DATA_VALUE, "ukendt værdi: æøå"),
            ErrorData(ErrorType.BADLY_FORMED_MESSAGE),
        )
        if v21
        else (ErrorData(ErrorType.UNRECOGNISED_DATA_VALUE, "ukendt værdi: æøå"),)
    )
    return {
        "request": full_request(version),
        "minimal request": minimal_request(version),
        "supplyingAgencyMessage": full_supplying_agency_message(version),
        "requestingAgencyMessage": full_requesting_agency_message(version),
        "requestConfirmation": RequestConfirmation(confirmation_header(version, MessageStatus.ERROR), errors),
        "supplyingAgencyMessageConfirmation": SupplyingAgencyMessageConfirmation(
            confirmation_header(version), ReasonForMessage.RENEW_RESPONSE
        ),
        "requestingAgencyMessageConfirmation": RequestingAgencyMessageConfirmation(
            confirmation_header(version, MessageStatus.ERROR),
            Action.RENEW,
            (ErrorData(ErrorType.UNSUPPORTED_ACTION_TYPE, "Renew"),),
        ),
    }


# --------------------------------------------------------------------------------------------------
# Hypothesis strategies: any message the version can carry
# --------------------------------------------------------------------------------------------------

# XML 1.0 characters (no controls; \r would be normalised to \n by any XML parser), plus Danish letters.
_xml_chars = st.characters(max_codepoint=0xFFFD, blacklist_categories=("Cs", "Cc")) | st.sampled_from(
    "æøåÆØÅ\n\t"
)
free_text = st.text(_xml_chars, min_size=1, max_size=40)
token = st.from_regex(
    r"[A-Za-z0-9æøåÆØÅ][A-Za-z0-9æøåÆØÅ .:_/-]{0,18}[A-Za-z0-9æøåÆØÅ]", fullmatch=True
) | st.from_regex(r"[A-Za-z0-9æøå]", fullmatch=True)
scheme = st.none() | st.sampled_from(
    ["http://illtransactions.org/ISO18626/OpenCodeList/x", "urn:isil", "ISIL"]
)
opt_text = st.none() | free_text
opt_token = st.none() | token
scheme_value = st.builds(SchemeValue, token, scheme)
opt_sv = st.none() | scheme_value
_offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
when = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1), timezones=_offsets | st.just(UTC)
)
opt_when = st.none() | when
agency = st.builds(AgencyId, token, token, scheme)
costs = st.builds(
    Costs,
    st.sampled_from(["DKK", "EUR", "SEK"]),
    st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
    scheme,
)


def _tuple(strategy: st.SearchStrategy, max_size: int = 3) -> st.SearchStrategy:
    return st.lists(strategy, max_size=max_size).map(tuple)


def _physical(version: Version) -> st.SearchStrategy[PhysicalAddress]:
    def make(region: str | None, region_scheme: str | None, **kw: object) -> PhysicalAddress:
        keep = region_scheme if region is not None and version is Version.V2017 else None
        return PhysicalAddress(region=region, region_scheme=keep, **kw)  # type: ignore[arg-type]

    return st.builds(
        make,
        region=opt_token,
        region_scheme=scheme,
        line1=opt_text,
        line2=opt_text,
        locality=opt_text,
        postal_code=opt_token,
        country=opt_sv,
    )


def _address(version: Version) -> st.SearchStrategy:
    return st.builds(ElectronicAddress, scheme_value, free_text) | _physical(version)


def headers(version: Version, kind: str) -> st.SearchStrategy[Header]:
    """Headers that ``kind`` can carry in ``version``."""
    v21 = version is Version.V2021
    supplying = (st.none() | agency) if (v21 and kind == "request") else agency
    miri = st.none() if (v21 and kind != "request") else opt_token
    sup_req = st.none() if (v21 and kind == "request") else opt_token
    auth = (
        st.none()
        if (v21 and kind == "supplyingAgencyMessage")
        else st.none() | st.builds(Authentication, opt_token, opt_token)
    )
    consortial = (st.none() | agency) if (v21 and kind != "supplyingAgencyMessage") else st.none()
    return st.builds(
        Header,
        requesting_agency_id=agency,
        timestamp=when,
        requesting_agency_request_id=token,
        supplying_agency_id=supplying,
        multiple_item_request_id=miri,
        supplying_agency_request_id=sup_req,
        authentication=auth,
        consortial_id=consortial,
    )


def requests(version: Version) -> st.SearchStrategy[Request]:
    """Requests ``version`` can carry."""
    v21 = version is Version.V2021
    addr = _address(version)
    sort_order = st.none() | (st.integers(0, 99) if v21 else st.integers(-5, 99))
    bib = st.builds(
        BibliographicInfo,
        supplier_unique_record_id=opt_token,
        title=opt_text,
        author=opt_text,
        author_id=opt_token if v21 else st.none(),
        subtitle=opt_text,
        series_title=opt_text,
        edition=opt_text,
        title_of_component=opt_text,
        author_of_component=opt_text,
        volumes=_tuple(free_text, 3 if v21 else 1),
        issue=opt_text,
        pages_requested=opt_text,
        estimated_no_pages=opt_text,
        item_ids=_tuple(st.builds(BibliographicItemId, token, token, scheme)),
        sponsor=opt_text,
        information_source=opt_text,
        record_ids=_tuple(st.builds(BibliographicRecordId, token, token, scheme)),
    )
    service = st.builds(
        ServiceInfo,
        service_type=st.sampled_from(ServiceType),
        request_type=st.none() | st.sampled_from(RequestType),
        request_sub_types=_tuple(st.sampled_from(RequestSubType), 5 if v21 else 3),
        requesting_agency_previous_request_id=opt_token,
        service_level=opt_sv,
        item_format=opt_sv,
        need_before_date=opt_when,
        copyright_compliance=opt_sv,
        any_edition=st.none() | st.booleans(),
        preferred_edition=(st.none() | st.sampled_from(PreferredEdition)) if v21 else st.none(),
        loan_conditions=_tuple(scheme_value) if v21 else st.just(()),
        start_date=opt_when,
        end_date=opt_when,
        note=opt_text,
    )
    return st.builds(
        Request,
        header=headers(version, "request"),
        bibliographic_info=bib,
        service_info=service if v21 else st.none() | service,
        publication_info=st.none()
        | st.builds(PublicationInfo, opt_text, opt_token if v21 else st.none(), opt_sv, opt_text, opt_text),
        supplier_infos=_tuple(
            st.builds(
                SupplierInfo,
                sort_order,
                st.none() | agency,
                opt_text,
                st.none() | st.builds(BibliographicRecordId, token, token, scheme),
                opt_text,
                opt_text,
                opt_text,
            )
        ),
        requested_delivery_infos=_tuple(
            st.builds(
                RequestedDeliveryInfo,
                sort_order,
                st.none() | addr,
                opt_sv if v21 else st.none(),
                opt_sv if v21 else st.none(),
            )
        ),
        requesting_agency_info=st.none() | st.builds(RequestingAgencyInfo, opt_text, opt_text, _tuple(addr)),
        patron_info=st.none()
        | st.builds(
            PatronInfo, opt_token, opt_text, opt_text, opt_sv, st.none() | st.booleans(), _tuple(addr)
        ),
        billing_info=st.none()
        | st.builds(BillingInfo, opt_sv, st.none() | costs, opt_sv, opt_text, st.none() | addr),
    )


def supplying_agency_messages(version: Version) -> st.SearchStrategy[SupplyingAgencyMessage]:
    """supplyingAgencyMessages ``version`` can carry."""
    v21 = version is Version.V2021
    statuses = sorted(set(Status) - (set() if v21 else STATUSES_2021_ONLY))
    return st.builds(
        SupplyingAgencyMessage,
        header=headers(version, "supplyingAgencyMessage"),
        message_info=st.builds(
            MessageInfo,
            st.sampled_from(ReasonForMessage),
            st.none() | st.booleans(),
            opt_text,
            opt_sv,
            opt_sv,
            _tuple(costs, 3 if v21 else 1),
            opt_when,
            opt_when,
        ),
        status_info=st.builds(StatusInfo, st.sampled_from(statuses), when, opt_when, opt_when),
        delivery_info=st.none()
        | st.builds(
            DeliveryInfo,
            date_sent=when,
            item_ids=_tuple(token, 3 if v21 else 1),
            url=opt_token if v21 else st.none(),
            delivery_method=opt_sv,
            address=(st.none() | _address(version)) if v21 else st.none(),
            sent_to_patron=st.none() | st.booleans(),
            loan_conditions=_tuple(scheme_value, 3 if v21 else 1),
            item_format=opt_sv,
            service_type=(st.none() | st.sampled_from(ServiceType)) if v21 else st.none(),
            delivery_costs=_tuple(costs, 3 if v21 else 1),
            payment_method=opt_sv if v21 else st.none(),
        ),
        return_info=st.none()
        | st.builds(ReturnInfo, st.none() | agency, opt_text, st.none() | _physical(version)),
        retry_info=(
            st.none()
            | st.builds(
                RetryInfo,
                _tuple(scheme_value),
                _tuple(token),
                _tuple(scheme_value),
                _tuple(token),
                st.sampled_from(ServiceType),
                _tuple(scheme_value),
                _tuple(scheme_value),
                _tuple(scheme_value),
                _tuple(scheme_value),
            )
        )
        if v21
        else st.none(),
        shipping_info=(
            st.none()
            | st.builds(
                ShippingInfo,
                opt_sv,
                _tuple(token),
                st.none() | st.booleans(),
                st.none() | st.booleans(),
                opt_text,
                _tuple(costs),
            )
        )
        if v21
        else st.none(),
    )


def requesting_agency_messages(version: Version) -> st.SearchStrategy[RequestingAgencyMessage]:
    """requestingAgencyMessages ``version`` can carry."""
    actions = sorted(set(Action) - (set() if version is Version.V2021 else ACTIONS_2021_ONLY))
    return st.builds(
        RequestingAgencyMessage,
        headers(version, "requestingAgencyMessage"),
        st.sampled_from(actions),
        opt_text,
    )


def confirmations(version: Version) -> st.SearchStrategy:
    """Confirmations of all three kinds that ``version`` can carry."""
    v21 = version is Version.V2021
    actions = sorted(set(Action) - (set() if v21 else ACTIONS_2021_ONLY))
    header = st.builds(
        ConfirmationHeader,
        when,
        when,
        st.sampled_from(MessageStatus),
        st.none() | agency,
        st.none() | agency,
        opt_token,
        opt_token if not v21 else st.none(),
    )
    errors = _tuple(st.builds(ErrorData, st.sampled_from(ErrorType), opt_text), 3 if v21 else 1)
    return (
        st.builds(RequestConfirmation, header, errors)
        | st.builds(
            SupplyingAgencyMessageConfirmation, header, st.none() | st.sampled_from(ReasonForMessage), errors
        )
        | st.builds(RequestingAgencyMessageConfirmation, header, st.none() | st.sampled_from(actions), errors)
    )


def messages(version: Version) -> st.SearchStrategy[Message]:
    """Any message ``version`` can carry."""
    return (
        requests(version)
        | supplying_agency_messages(version)
        | requesting_agency_messages(version)
        | confirmations(version)
    )
