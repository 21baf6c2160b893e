-- wrk script: each request is one check-in from the next of the enrolled clients (credentials file: "id secret" lines).
local clients = {}
local position = 0
local body = '{"code":"bench","type":1,"os":"linux","username":"outpost","version":"0.1.0",' ..
    '"host_id":"DE:A1:48:F1:01:22","metrics":{"c":16,"l":23.1,"m":76,"mpf":7954137088,"mpt":34359738368,' ..
    '"mvf":1776025600,"mvt":18253611008,"in":{"s":-1,"s_a":-1,"s_t":-1},"out":{"s":-1,"s_a":-1,"s_t":-1}},' ..
    '"lanes":[{"index":0,"benchmark":220.5},{"index":1,"benchmark":220.5}]}'

function init(args)
    for line in io.lines(args[1]) do
        local id, secret = line:match("(%S+) (%S+)")
        clients[#clients + 1] = "Bearer " .. id .. "." .. secret
    end
    -- Threads start at different clients so they do not update the same rows in step.
    position = math.random(#clients)
end

function request()
    position = position % #clients + 1
    return wrk.format("POST", "/api/v1/checkin",
        { ["Content-Type"] = "application/json", ["Authorization"] = clients[position] }, body)
end
