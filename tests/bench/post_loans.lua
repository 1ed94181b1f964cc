-- post_loans.lua: wrk script for the live ingest bench (tests/bench/run).
--
--   wrk -t1 -c64 -d10s -s tests/bench/post_loans.lua http://HOST:PORT/v1/loans \
--       -- KEY EVENTS_PER_REQUEST [RECORD_IDS_FILE] [PATRONS] [FIRST] [POOL]
--
-- Every request POSTs application/json loan events with
-- "Authorization: Bearer KEY": one object when EVENTS_PER_REQUEST is 1,
-- else an array of that many. Each event is a new one: a counter n
-- (from FIRST, default 0: give each run against one Redis its own) gives
-- patron "bench-<n mod PATRONS>" (default 20000, so patrons come back and
-- their loans make pairs), record "f<id>" from RECORD_IDS_FILE (one
-- MovieLens movieId a line; f1..f9999 without it) and time 2020-01-01
-- plus n seconds (in the past, rising, so no event is stale or a
-- duplicate). Consecutive events have different patrons, so requests in
-- flight at once rarely wait for each other's patrons. Meant for -t1: the
-- counter is per thread.
--
-- The first POOL events (default 0) are formatted in init(), which wrk
-- runs before its clock starts; request() hands them out in order and
-- formats the rest as it goes. Formatting a request in Lua costs wrk
-- about as much CPU as onloand spends answering it, and on a machine of
-- two cores that CPU is taken from the server being measured (the hello
-- server's wrk sends one fixed request). Size the pool above what a run
-- can send.

local key, per_request, patrons = nil, 1, 20000
local ids = {}
local n = 0
local base_time = 1577836800      -- 2020-01-01T00:00:00Z
local headers = {}
local pool, pooled = {}, 1       -- pool[pooled] is the next request to send

local function event()
    local e = string.format('{"patron":"bench-%d","record":"%s","time":"%s"}',
                            n % patrons, ids[(n * 7919) % #ids + 1],
                            os.date("!%Y-%m-%dT%H:%M:%SZ", base_time + n))
    n = n + 1
    return e
end

local function make_request()
    local body
    if per_request == 1 then
        body = event()
    else
        local parts = {}
        for i = 1, per_request do
            parts[i] = event()
        end
        body = "[" .. table.concat(parts, ",") .. "]"
    end
    return wrk.format("POST", nil, headers, body)
end

function request()
    local r = pool[pooled]
    if r == nil then
        return make_request()
    end
    pool[pooled] = nil
    pooled = pooled + 1
    return r
end

function init(args)
    key = args[1] or error("post_loans.lua: KEY argument missing (wrk ... -- KEY N)")
    per_request = tonumber(args[2] or "1")
    if args[3] and args[3] ~= "" then
        local f = assert(io.open(args[3], "r"))
        for line in f:lines() do
            if line:match("^%d+$") then
                ids[#ids + 1] = "f" .. line
            end
        end
        f:close()
    end
    if #ids == 0 then
        for i = 1, 9999 do
            ids[i] = "f" .. i
        end
    end
    if args[4] then
        patrons = tonumber(args[4])
    end
    if args[5] then
        n = tonumber(args[5])
    end
    headers["Content-Type"] = "application/json"
    headers["Authorization"] = "Bearer " .. key
    local events = tonumber(args[6] or "0")
    for i = 1, math.ceil(events / per_request) do
        pool[i] = make_request()
    end
end

