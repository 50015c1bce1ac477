-- Shared by the scenario scripts of scripts/load-test.sh (loaded with dofile): numbers the wrk
-- threads and, when the run is over, writes one result line for the summary table.
--
-- The line goes to the file named by LOAD_RESULT_FILE (stdout when unset):
--   requests=N duration_us=N p50_us=N p99_us=N non2xx=N connect=N read=N write=N timeout=N statuses=CODE:N,...
-- non2xx is wrk's "Non-2xx or 3xx responses" (its count of answers with status >= 400), or,
-- when a scenario counts status codes itself (a `response` function filling the thread global
-- `statuses`), every answer outside 200-299. A scenario may also count kinds of answers in the
-- thread global `tally` (name -> count); the sums are printed and written as tally=NAME:N,...

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_id", #threads)
end

function done(summary, latency, requests)
   local statuses, counted, first_error, tally = {}, false, nil, {}
   for _, t in ipairs(threads) do
      local s = t:get("statuses")
      if s then
         counted = true
         for code, n in pairs(s) do statuses[code] = (statuses[code] or 0) + n end
      end
      for name, n in pairs(t:get("tally") or {}) do tally[name] = (tally[name] or 0) + n end
      first_error = first_error or t:get("first_error")
   end
   local non2xx = summary.errors.status
   local codes = {}
   if counted then
      non2xx = 0
      for code, n in pairs(statuses) do
         if code < 200 or code > 299 then non2xx = non2xx + n end
         table.insert(codes, code)
      end
      table.sort(codes)
   end
   local parts = {}
   for _, code in ipairs(codes) do table.insert(parts, code .. ":" .. statuses[code]) end
   local names, counts = {}, {}
   for name in pairs(tally) do table.insert(names, name) end
   table.sort(names)
   for _, name in ipairs(names) do table.insert(counts, name .. ":" .. tally[name]) end
   local e = summary.errors
   local line = string.format(
      "requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d statuses=%s tally=%s\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), non2xx,
      e.connect, e.read, e.write, e.timeout, table.concat(parts, ","), table.concat(counts, ","))
   if #parts > 0 then
      print("  Status codes: " .. table.concat(parts, ", "))
   end
   if #counts > 0 then
      print("  Tally: " .. table.concat(counts, ", "))
   end
   if first_error then
      print("  First non-2xx answer: " .. first_error)
   end
   local path = os.getenv("LOAD_RESULT_FILE")
   local f = path and io.open(path, "w")
   if f then
      f:write(line)
      f:close()
   else
      io.write(line)
   end
end
