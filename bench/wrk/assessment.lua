-- assessment.lua: wrk script for POST /api/v1/assessments: PHQ-9 answers that vary per
-- request (item 9 stays 0, so no alert), rotating over the patient tokens listed (one
-- per line) in the file named by the TOKENS environment variable.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local n = 0
request = function()
  n = n + 1
  local tok = tokens[(n % #tokens) + 1]
  local a = {}
  for i = 1, 8 do a[i] = (n + i) % 4 end
  a[9] = 0
  local body = '{"instrument": "phq9", "answers": [' .. table.concat(a, ",") .. ']}'
  return wrk.format("POST", "/api/v1/assessments",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tok}, body)
end
