-- Scenario 2 of scripts/load-test.sh: POST /v1/search/flights as the demo traveler.
-- Arguments (after wrk's `--`): ORIGIN DESTINATION DEPART_ON (YYYY-MM-DD). One static request;
-- every search computes the offers, stores them for 30 minutes and writes an audit event.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

function init(args)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.body = string.format('{"origin":"%s","destination":"%s","depart_on":"%s"}', args[1], args[2], args[3])
end
