-- chat.lua: wrk script for POST /api/v1/chat/messages: 64 conversations (the patient tokens
-- listed, one per line, in the file named by the TOKENS environment variable), each walking
-- through everyday turns in order: a mood report, paced breathing with its ratings, a
-- thought record, a check-in, questions. Every turn runs the full pipeline (analysis,
-- safety gate, dialog, sealed and audited durable write).
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local lines = {
  "I'm feeling quite anxious about work today",
  "can we do some breathing",
  "7",
  "done",
  "4",
  "thought record",
  "my manager didn't reply to my email",
  "she thinks I'm useless and I'm going to lose my job",
  "anxious, 80",
  "she replied late to everyone this week",
  "she praised my report last month",
  "she is busy and one late reply doesn't mean I'm failing",
  "50",
  "thanks, that helped",
  "how do I sleep better",
  "stop",
}
-- DELAY_MS (optional): the pause each connection takes before its next turn, for latency
-- at a paced load instead of at saturation. With JITTER=1 the pause is drawn uniformly from
-- 0 to twice DELAY_MS (the same mean), as independent people typing would be: a fixed
-- pause keeps the 64 conversations in step, so their turns arrive in bursts of 64.
local pause = tonumber(os.getenv("DELAY_MS") or "0")
local jitter = os.getenv("JITTER") == "1"
if pause > 0 then
  if jitter then
    delay = function() return math.random(0, 2 * pause) end
  else
    delay = function() return pause end
  end
end
local pos = {}
local n = 0
local function esc(s) return (s:gsub('\\', '\\\\'):gsub('"', '\\"')) end
request = function()
  n = n + 1
  local i = (n % #tokens) + 1
  local p = pos[i] or 0
  pos[i] = p + 1
  local text = lines[(p % #lines) + 1]
  return wrk.format("POST", "/api/v1/chat/messages",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[i]},
    '{"text": "' .. esc(text) .. '"}')
end
