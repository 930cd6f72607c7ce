-- Replays pre-generated requests: thread n reads <dir>/requests-<n>.txt, one request a line:
-- METHOD <tab> PATH <tab> BODY (the body may be empty). Prints p50/p95/p99 and statuses.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  dir = args[1]
  requests, index, statuses = {}, 0, {}
  local headers = {["Content-Type"] = "application/json"}
  for _, header in ipairs({"X-App-Id", "X-App-Token"}) do
    headers[header] = args[header == "X-App-Id" and 2 or 3]
  end
  for line in io.lines(dir .. "/requests-" .. id .. ".txt") do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    if body == "" then body = nil end
    table.insert(requests, wrk.format(method, path, headers, body))
  end
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for status, n in pairs(s) do counts[status] = (counts[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(counts) do table.insert(parts, status .. ": " .. n) end
  io.write(string.format("RESULT %d %.3f %.3f %.3f %.3f {%s}\n", summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, table.concat(parts, ", ")))
end
