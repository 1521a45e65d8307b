-- GET /products/{id} with ids drawn from a Zipf distribution over 1..ZIPF_N (exponent ZIPF_S): a few
-- hot products and a long tail, like a flash sale. Rank 1 is product 1.
local n = tonumber(os.getenv("ZIPF_N") or "10000")
local s = tonumber(os.getenv("ZIPF_S") or "1.0")
local cdf = {}

function init(args)
  local total = 0
  for k = 1, n do
    total = total + 1 / (k ^ s)
    cdf[k] = total
  end
  for k = 1, n do
    cdf[k] = cdf[k] / total
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  local r = math.random()
  local lo, hi = 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < r then lo = mid + 1 else hi = mid end
  end
  return wrk.format("GET", "/products/" .. lo)
end
