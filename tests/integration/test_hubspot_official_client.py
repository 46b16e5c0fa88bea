"""The HubSpot stand-in against HubSpot's own Python client (`hubspot-api-client`).

The client is generated from HubSpot's OpenAPI descriptions and turns every answer into
its typed models, refusing one that lacks a required field or has another type. So each
call here checks that the stand-in answers in the shapes HubSpot documents, which is
what makes the sync's tests (tests/integration/test_crm_sync.py) evidence about HubSpot
rather than about a stand-in written alongside the code it tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
)
from hubspot.crm.companies.exceptions import ApiException
from hubspot.crm.deals import PublicObjectSearchRequest as DealSearchRequest
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

from tests.conftest import NOW
from tests.fakes.hubspot_api import TOKEN, FakeHubSpotApi, running_fake_hubspot


@pytest.fixture
def hubspot() -> Iterator[FakeHubSpotApi]:
    with running_fake_hubspot(now=NOW - timedelta(hours=1)) as fake:
        yield fake


@pytest.fixture
def official(hubspot: FakeHubSpotApi) -> HubSpot:
    return HubSpot(access_token=TOKEN, host=hubspot.url)


def test_properties_and_their_group_are_created_and_read_back(official: HubSpot) -> None:
    groups = official.crm.properties.groups_api
    created = groups.create("companies", PropertyGroupCreate(name="tipoff", label="Tipoff"))
    assert (created.name, created.label) == ("tipoff", "Tipoff")
    assert groups.get_by_name("companies", "tipoff").name == "tipoff"

    core = official.crm.properties.core_api
    score = core.create(
        "companies",
        PropertyCreate(
            name="tipoff_score",
            label="Tipoff score",
            type="number",
            field_type="number",
            group_name="tipoff",
        ),
    )
    assert (score.name, score.type, score.group_name) == ("tipoff_score", "number", "tipoff")
    assert core.get_by_name("companies", "tipoff_score").field_type == "number"
    with pytest.raises(Exception) as missing:
        core.get_by_name("companies", "tipoff_nothing")
    assert getattr(missing.value, "status", None) == 404


def test_companies_are_searched_page_by_page_and_updated_in_a_batch(
    hubspot: FakeHubSpotApi, official: HubSpot
) -> None:
    ids = [hubspot.add_company(domain=f"c{n}.com", name=f"C{n}") for n in range(3)]
    search = official.crm.companies.search_api
    request = {
        "filter_groups": [{"filters": [{"propertyName": "hs_lastmodifieddate",
                                        "operator": "GTE", "value": "0"}]}],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["domain", "name", "hs_lastmodifieddate"],
        "limit": 2,
    }  # fmt: skip
    first = search.do_search(PublicObjectSearchRequest(**request))
    assert first.total == 3 and [r.id for r in first.results] == ids[:2]
    assert first.results[0].properties["domain"] == "c0.com"
    assert isinstance(first.results[0].updated_at, datetime)
    assert first.paging is not None
    second = search.do_search(PublicObjectSearchRequest(**request, after=first.paging.next.after))
    assert [r.id for r in second.results] == ids[2:] and second.paging is None

    batch = official.crm.companies.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id=i, properties={"name": "Renamed"}) for i in ids]
        )
    )
    assert batch.status == "COMPLETE" and sorted(r.id for r in batch.results) == sorted(ids)
    assert batch.results[0].properties["name"] == "Renamed"
    assert hubspot.companies[ids[0]]["name"] == "Renamed"


def test_a_batch_with_a_deleted_company_is_partly_written(
    hubspot: FakeHubSpotApi, official: HubSpot
) -> None:
    kept, gone = hubspot.add_company(domain="a.com"), hubspot.add_company(domain="b.com")
    del hubspot.companies[gone]

    batch = official.crm.companies.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=i, properties={"name": "X"}) for i in (kept, gone)
            ]
        )
    )

    assert [r.id for r in batch.results] == [kept]
    assert batch.num_errors == 1 and batch.errors[0].category == "OBJECT_NOT_FOUND"


def test_deals_and_their_companies_are_read(hubspot: FakeHubSpotApi, official: HubSpot) -> None:
    company = hubspot.add_company(domain="acme.io")
    opened = datetime(2026, 11, 1, tzinfo=UTC)
    deal = hubspot.add_deal(companies=[company], created=opened, closed=opened + timedelta(days=9),
                            won=True, amount="1200.50")  # fmt: skip
    lonely = hubspot.add_deal(companies=[], created=opened)

    found = official.crm.deals.search_api.do_search(
        DealSearchRequest(properties=["hs_is_closed", "hs_is_closed_won", "closedate"], limit=10)
    )
    by_id = {r.id: r.properties for r in found.results}
    assert by_id[deal]["hs_is_closed_won"] == "true" and by_id[lonely]["hs_is_closed"] == "false"

    links = official.crm.associations.v4.batch_api.get_page(
        "deals", "companies",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": deal}, {"id": lonely}]),
    )  # fmt: skip
    [result] = links.results
    assert result._from.id == deal and [str(t.to_object_id) for t in result.to] == [company]
    assert links.num_errors == 1


def test_owners_and_refusals_come_back_as_hubspot_words_them(
    hubspot: FakeHubSpotApi, official: HubSpot
) -> None:
    hubspot.owners["77"] = "maya@example.com"
    assert official.crm.owners.owners_api.get_by_id(77).email == "maya@example.com"

    hubspot.fail_next("/search", status=429, policy="DAILY")
    with pytest.raises(ApiException) as limited:
        official.crm.companies.search_api.do_search(PublicObjectSearchRequest(limit=1))
    assert limited.value.status == 429 and '"policyName":"DAILY"' in limited.value.body.replace(
        " ", ""
    )

    wrong = HubSpot(access_token="pat-na1-wrong", host=hubspot.url)
    with pytest.raises(ApiException) as refused:
        wrong.crm.companies.search_api.do_search(PublicObjectSearchRequest(limit=1))
    assert refused.value.status == 401
