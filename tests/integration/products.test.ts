import { afterAll, beforeAll } from "bun:test";
import { productContract } from "../helpers/product-contract.ts";
import { startTestShop, type TestShop } from "../helpers/shop.ts";

let shop: TestShop;
beforeAll(async () => {
  shop = await startTestShop(["api"]);
});
afterAll(() => shop.stop());

productContract("memory store", () => shop.url);
