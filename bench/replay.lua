-- wrk script: replays pre-built raw HTTP requests, each sent once.
-- Environment: BENCH_REQUESTS=<base> (thread i reads <base>.i: requests separated by NUL bytes),
-- BENCH_THREADS=<wrk -t>, BENCH_RATE=<requests/s over all threads> (0 = as fast as the
-- connections go).
-- Counts every response's status; done() prints one line "BENCH-JSON {...}" with latency
-- percentiles in microseconds. A thread that runs out of requests starts over and counts
-- each repeat in `wrapped`: the caller treats that as a broken run.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local base = os.getenv("BENCH_REQUESTS")
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")

-- main state: the thread objects, to read their counters in done()
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

-- thread state: globals so that done() can read them with thread:get()
statuses, sent, wrapped, loaded = {}, 0, 0, 0
local reqs, idx = {}, 0

function init(args)
  local f = assert(io.open(base .. "." .. id, "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while true do
    local stop = string.find(data, "\0", pos, true)
    if not stop then break end
    reqs[#reqs + 1] = string.sub(data, pos, stop - 1)
    pos = stop + 1
  end
  loaded = #reqs
end

function request()
  idx = idx + 1
  if idx > #reqs then idx = 1 end
  sent = sent + 1
  if sent > #reqs then wrapped = wrapped + 1 end
  return reqs[idx]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

if rate > 0 then
  -- Fixed schedule per thread: every delay() call takes the next slot, so requests leave at
  -- `rate` whenever a connection is free; a late slot is sent at once (catching up).
  local interval, next_at = 1000 * nthreads / rate, nil
  function delay()
    local t = now_ms()
    next_at = next_at or t
    local d = next_at - t
    next_at = next_at + interval
    if d <= 0 then return 0 end
    return math.floor(d + 0.5)
  end
end

function done(summary, latency, requests)
  local by_code, total_sent, total_wrapped, total_loaded = {}, 0, 0, 0
  for _, t in ipairs(threads) do
    for code, count in pairs(t:get("statuses")) do
      by_code[code] = (by_code[code] or 0) + count
    end
    total_sent = total_sent + t:get("sent")
    total_wrapped = total_wrapped + t:get("wrapped")
    total_loaded = total_loaded + t:get("loaded")
  end
  local codes = {}
  for code, count in pairs(by_code) do
    codes[#codes + 1] = string.format('"%d": %d', code, count)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"duration_us": %d, "requests": %d, "sent": %d, "wrapped": %d, "loaded": %d, '
    .. '"statuses": {%s}, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, '
    .. '"timeout": %d}, "latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, '
    .. '"p99": %d, "p999": %d}}\n',
    summary.duration, summary.requests, total_sent, total_wrapped, total_loaded,
    table.concat(codes, ", "), e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
