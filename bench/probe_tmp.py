import contextlib, time, http.client, sys
sys.argv=["x"]
from bench.statuspage import prepare, populate, start_gunicorn, WEB_WORKERS
def get(port, path):
    c=http.client.HTTPConnection("127.0.0.1", port, timeout=60); t=time.perf_counter(); c.request("GET", path); r=c.getresponse(); b=r.read(); return r.status, len(b), time.perf_counter()-t, r.getheader("ETag")
with contextlib.ExitStack() as ex:
    st = prepare(ex, vhost="vigil_status")
    populate(st, 1000000)
    start_gunicorn(st, 1)
    for i in range(16):
        print(get(st.port, "/status/")); time.sleep(0.3)
    import subprocess
    out = subprocess.run(["wrk","-t1","-c8","-d5s","--latency",st.url("/status/")],capture_output=True,text=True).stdout
    print(out)
    out = subprocess.run(["wrk","-t1","-c8","-d5s","--latency",st.url("/status/api/v2/status.json")],capture_output=True,text=True).stdout
    print(out)
    print(st.scalar("select count(*) from incidents_incident where is_public and started_at > now() - interval '120 days'"))
