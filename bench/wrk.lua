-- wrk script for `manage.py bench`: every request as a customer drawn at
-- random from a file of signed-in sessions, and the results as one JSON line.
--
-- Arguments (after wrk's `--`):
--   1. the path, where "{line}" stands for one of the customer's lines;
--   2. the sessions file ("key line-id line-id ..." per line), or "-" to send
--      no cookie (an anonymous visitor);
--   3. the session cookie's name.
-- Responses other than 200 are counted per thread and reported, so that a
-- redirect to the sign-in page cannot pass for a fast dashboard.

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local path_template, cookie_name
local sessions = {}
non_200 = 0

function init(args)
   path_template = args[1]
   local sessions_file = args[2] or "-"
   cookie_name = args[3] or "sessionid"
   math.randomseed(os.time() * 1000 + id)
   if sessions_file ~= "-" then
      for row in io.lines(sessions_file) do
         local key, rest = row:match("^(%S+)%s*(.*)$")
         if key then
            local lines = {}
            for line_id in rest:gmatch("%d+") do
               table.insert(lines, line_id)
            end
            table.insert(sessions, { key = key, lines = lines })
         end
      end
   end
end

function request()
   local path = path_template
   local headers = {}
   if #sessions > 0 then
      local session = sessions[math.random(#sessions)]
      headers["Cookie"] = cookie_name .. "=" .. session.key
      if #session.lines > 0 then
         path = path:gsub("{line}", session.lines[math.random(#session.lines)])
      end
   end
   return wrk.format("GET", path, headers)
end

function response(status, headers, body)
   if status ~= 200 then
      non_200 = non_200 + 1
   end
end

function done(summary, latency, requests)
   local bad = 0
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("non_200") or 0)
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "non_200": %d, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d, "p999": %d}}\n',
      summary.requests, summary.duration, summary.bytes, bad,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)
   ))
end
