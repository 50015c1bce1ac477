-- Scenario 3 of scripts/load-test.sh: POST /v1/bookings as the demo traveler, every request with
-- a fresh Idempotency-Key, so every request makes a new booking.
-- Arguments (after wrk's `--`): RUN_ID OFFER_ID [OFFER_ID ...] — the offers of one search made
-- just before the run. A stored offer is not consumed by a booking (any number of bookings can
-- name it, each with its own key), so the requests cycle through these offers: in-policy ones
-- are confirmed, out-of-policy ones wait for approval (201 either way).
-- Keys: RUN_ID-THREAD-COUNTER-RANDOM, unique per request across threads and runs.
-- This script reads every answer: status counts, a tally of confirmed / pending_approval
-- bookings, the first error body.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local run_id, offers, counter = "run", {}, 0

function init(args)
   run_id = args[1]
   for i = 2, #args do table.insert(offers, args[i]) end
   assert(#offers > 0, "book.lua needs at least one offer id")
   math.randomseed(os.time() + 7919 * (thread_id or 0))
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   statuses = {}
   tally = { confirmed = 0, pending_approval = 0 }
end

function request()
   counter = counter + 1
   local offer = offers[(counter + (thread_id or 0)) % #offers + 1]
   wrk.headers["Idempotency-Key"] =
      string.format("%s-%d-%d-%08x", run_id, thread_id or 0, counter, math.random(0, 0x7fffffff))
   return wrk.format(nil, nil, nil, string.format('{"offer_id":"%s"}', offer))
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status >= 200 and status <= 299 then
      if body:find('"status":"confirmed"', 1, true) then
         tally.confirmed = tally.confirmed + 1
      elseif body:find('"status":"pending_approval"', 1, true) then
         tally.pending_approval = tally.pending_approval + 1
      end
   elseif not first_error then
      first_error = status .. " " .. body:sub(1, 300)
   end
end
