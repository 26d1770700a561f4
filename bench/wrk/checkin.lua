-- checkin.lua: wrk script for the encrypted durable write: POST /api/v1/checkins,
-- rotating over the patient tokens listed (one per line) in the file named by
-- the TOKENS environment variable.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
-- DELAY_MS (optional): the pause each connection takes before its next request, for the
-- latency at a paced load instead of at saturation.
local pause = tonumber(os.getenv("DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end
local n = 0
request = function()
  n = n + 1
  local tok = tokens[(n % #tokens) + 1]
  local body = string.format('{"mood": %d, "sleep_hours": 7.5, "note": "bench note %d, a few words about the day"}', n % 11, n)
  return wrk.format("POST", "/api/v1/checkins",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tok}, body)
end
