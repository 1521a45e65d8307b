-- GET /products/{id} over ids 1..10000, uniformly.
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/products/" .. math.random(1, 10000))
end
