import { classify, generate, type Protocol } from "./api.js";

const protocol = () =>
  (document.querySelector<HTMLInputElement>('input[name="protocol"]:checked')?.value ?? "connect") as Protocol;
const show = (id: string, text: string) => (document.getElementById(id)!.textContent = text);

document.getElementById("classify")!.addEventListener("submit", async (e) => {
  e.preventDefault();
  const features = [...(e.currentTarget as HTMLFormElement).querySelectorAll<HTMLInputElement>('input[name="f"]')].map(
    (i) => Number(i.value),
  );
  try {
    const p = await classify(protocol(), features);
    show(
      "classify-result",
      Object.entries(p)
        .map(([s, v]) => `${s.padEnd(10)} ${(v * 100).toFixed(1)}%`)
        .join("\n"),
    );
  } catch (err) {
    show("classify-result", String(err));
  }
});

document.getElementById("generate")!.addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.currentTarget as HTMLFormElement);
  show("generate-result", "");
  try {
    for await (const word of generate(protocol(), String(form.get("prompt")), Number(form.get("maxTokens")))) {
      show("generate-result", `${document.getElementById("generate-result")!.textContent} ${word}`.trim());
    }
  } catch (err) {
    show("generate-result", String(err));
  }
});

// For scripts driving the page (the registry test calls these from a headless browser).
async function words(p: Protocol, prompt: string, maxTokens: number): Promise<string[]> {
  const out: string[] = [];
  for await (const w of generate(p, prompt, maxTokens)) out.push(w);
  return out;
}
Object.assign(window, { blazerpcDemo: { classify, generate: words } });
