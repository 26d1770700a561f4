-- me.lua: wrk script for authenticated GET /api/v1/me over the tokens in $TOKENS.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/me", {["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]})
end
