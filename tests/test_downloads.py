"""Downloads (a job's raw log, its metrics as CSV) are authenticated as JupyterLab's
own are: the session's cookie with its ``_xsrf``, or a token header; no token in URLs."""
from http.cookies import SimpleCookie

import pytest
from tornado.httpclient import AsyncHTTPClient

from conftest import wait_for_job

DOWNLOADS = [("log", {"format": "raw"}, "hello\n"), ("metrics", {"format": "csv"}, "metric,time,elapsed")]


@pytest.fixture
def browser(jp_serverapp, jp_base_url, jp_http_port):
    """A browser's session: the login cookie a first visit with the token left, and the
    ``_xsrf`` cookie the login page sets, sent back as a browser would (no token)."""
    base = f"http://localhost:{jp_http_port}{jp_base_url}"
    client = AsyncHTTPClient()
    cookies = SimpleCookie()

    async def log_in():
        token = jp_serverapp.identity_provider.token
        for url in (f"{base}momo-jobs/api/resources?token={token}", f"{base}login"):
            response = await client.fetch(url, raise_error=False, follow_redirects=False)
            for header in response.headers.get_list("Set-Cookie"):
                cookies.load(header)
        assert "_xsrf" in cookies and any(name.startswith("username-") for name in cookies)

    async def get(path, params, send_xsrf):
        if not cookies:
            await log_in()
        query = dict(params, **({"_xsrf": cookies["_xsrf"].value} if send_xsrf else {}))
        url = f"{base}momo-jobs/api/{path}?" + "&".join(f"{k}={v}" for k, v in query.items())
        cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
        return await client.fetch(url, headers={"Cookie": cookie}, raise_error=False, follow_redirects=False)

    return get


@pytest.mark.parametrize("route, params, head", DOWNLOADS)
async def test_a_download_takes_the_cookie_with_its_xsrf(jobs_api, write_script, browser, route, params, head):
    script = write_script("dl.py", """
        print("hello")
        print('{"metric": "loss", "value": 0.5, "step": 1}')
    """) if route == "metrics" else write_script("dl.py", "print('hello')\n")
    _, job = await jobs_api("POST", "jobs", {"script": script})
    await wait_for_job(jobs_api, job["id"])
    path = f"jobs/{job['id']}/{route}"
    refused = await browser(path, params, send_xsrf=False)
    assert refused.code == 403
    allowed = await browser(path, params, send_xsrf=True)
    assert allowed.code == 200 and allowed.body.decode().startswith(head)
    assert "attachment" in allowed.headers["Content-Disposition"]
    code, text = await jobs_api("GET", path, params=params)  # a token header, as the CLI sends
    assert code == 200 and text.startswith(head)
