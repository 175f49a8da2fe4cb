from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.get_data_request import GetDataRequest
from ...models.get_data_response import GetDataResponse
from ...types import Response


def _get_kwargs(
    *,
    body: GetDataRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/smt/data/get",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | GetDataResponse | None:
    if response.status_code == 200:
        response_200 = GetDataResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 413:
        response_413 = ErrorResponse.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if response.status_code == 500:
        response_500 = ErrorResponse.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ErrorResponse.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | GetDataResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: GetDataRequest,
) -> Response[ErrorResponse | GetDataResponse]:
    """Read the history of one or many tags

     Answers one item per requested tag, its points sorted by `x` ascending. With neither `from` nor
    `to` the answer is the current value, stamped now; `to` defaults to now. Points come as
    `{x, y, q}` objects or as `[y, x, q]` arrays (the platform family's documented form), and
    `exceed` only when the request had `maxCount`: read both forms, and an absent `exceed` as false.

    Args:
        body (GetDataRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | GetDataResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: GetDataRequest,
) -> ErrorResponse | GetDataResponse | None:
    """Read the history of one or many tags

     Answers one item per requested tag, its points sorted by `x` ascending. With neither `from` nor
    `to` the answer is the current value, stamped now; `to` defaults to now. Points come as
    `{x, y, q}` objects or as `[y, x, q]` arrays (the platform family's documented form), and
    `exceed` only when the request had `maxCount`: read both forms, and an absent `exceed` as false.

    Args:
        body (GetDataRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | GetDataResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: GetDataRequest,
) -> Response[ErrorResponse | GetDataResponse]:
    """Read the history of one or many tags

     Answers one item per requested tag, its points sorted by `x` ascending. With neither `from` nor
    `to` the answer is the current value, stamped now; `to` defaults to now. Points come as
    `{x, y, q}` objects or as `[y, x, q]` arrays (the platform family's documented form), and
    `exceed` only when the request had `maxCount`: read both forms, and an absent `exceed` as false.

    Args:
        body (GetDataRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | GetDataResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: GetDataRequest,
) -> ErrorResponse | GetDataResponse | None:
    """Read the history of one or many tags

     Answers one item per requested tag, its points sorted by `x` ascending. With neither `from` nor
    `to` the answer is the current value, stamped now; `to` defaults to now. Points come as
    `{x, y, q}` objects or as `[y, x, q]` arrays (the platform family's documented form), and
    `exceed` only when the request had `maxCount`: read both forms, and an absent `exceed` as false.

    Args:
        body (GetDataRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | GetDataResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
