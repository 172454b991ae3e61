-- Signed Stripe events for POST /stripe/webhook/, each sent once: wrk -t N -s webhook.lua URL -- FILE N
-- FILE (bench/http_bench.py writes it) has one event a line: "<event id>\t<Stripe-Signature>\t<body>".
-- Thread n of N takes lines n, n+N, n+2N, ...; a thread that runs out starts again at its first event
-- and counts the repeats (the endpoint answers "already stored"), so a run that was too long shows.

local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "report.lua")

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  local stride = tonumber(args[2]) or 1 -- wrk's thread count (-t)
  events = {}
  local line_number = 0
  for line in io.lines(args[1]) do
    if line_number % stride == id then
      local first = line:find("\t", 1, true)
      local second = line:find("\t", first + 1, true)
      events[#events + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["Stripe-Signature"] = line:sub(first + 1, second - 1),
      }, line:sub(second + 1))
    end
    line_number = line_number + 1
  end
  position = 0
  sent = 0
  stored = 0
  repeated = 0
  refused = 0
end

function request()
  position = position + 1
  if position > #events then
    position = 1
  end
  sent = sent + 1
  return events[position]
end

function response(status, headers, body)
  if status == 200 and body == "stored" then
    stored = stored + 1
  elseif status == 200 then
    repeated = repeated + 1
  else
    refused = refused + 1
  end
end

done = function(summary, latency, requests)
  local totals = {sent = 0, stored = 0, repeated = 0, refused = 0}
  for _, thread in ipairs(threads) do
    for key, value in pairs(totals) do
      totals[key] = value + (thread:get(key) or 0)
    end
  end
  report_summary(summary, latency, totals)
end
