-- wrk's summary as one JSON line ("WRK_JSON {...}") for bench/http_bench.py, instead of its text report.
-- Used as is for plain GET runs; webhook.lua loads it and adds its own counters.

local function number(value)
  return string.format("%.17g", value)
end

function report_summary(summary, latency, extra)
  local fields = {
    "\"duration_us\":" .. number(summary.duration),
    "\"requests\":" .. number(summary.requests),
    "\"bytes\":" .. number(summary.bytes),
    "\"errors_connect\":" .. number(summary.errors.connect),
    "\"errors_read\":" .. number(summary.errors.read),
    "\"errors_write\":" .. number(summary.errors.write),
    "\"errors_status\":" .. number(summary.errors.status),
    "\"errors_timeout\":" .. number(summary.errors.timeout),
    "\"latency_mean_us\":" .. number(latency.mean),
    "\"latency_max_us\":" .. number(latency.max),
  }
  for _, p in ipairs({50, 90, 99}) do
    fields[#fields + 1] = "\"latency_p" .. p .. "_us\":" .. number(latency:percentile(p))
  end
  for key, value in pairs(extra or {}) do
    fields[#fields + 1] = "\"" .. key .. "\":" .. number(value)
  end
  io.write("WRK_JSON {" .. table.concat(fields, ",") .. "}\n")
end

done = function(summary, latency, requests)
  report_summary(summary, latency, {})
end
