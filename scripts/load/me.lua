-- Scenario 1 of scripts/load-test.sh: GET /v1/me as the demo traveler (the Authorization
-- header comes from wrk's -H). One static request, so wrk does not parse answers.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
