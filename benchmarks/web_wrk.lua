-- wrk script of benchmarks/web_load.py: every request carries the bearer token (QARI_BENCH_TOKEN comes
-- from the environment); at the end, one JSON line with the figures the benchmark prints.
local token = os.getenv("QARI_BENCH_TOKEN") or ""
wrk.headers["Authorization"] = "Bearer " .. token

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors": %d, "non_2xx": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout + e.status, e.status, e.timeout))
end
