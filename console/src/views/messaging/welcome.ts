// The follow welcome's purposes, as messaging picks them: `follow.welcome.<scene slug>`, then `follow.welcome`.
const PREFIX = 'follow.welcome'

/** A scene as messaging slugs it (lower case, other characters as `_`, at most 40). */
export function sceneSlug(scene: string): string {
  return scene.trim().toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40)
}

/** The purpose name of a scene's welcome ('' is the default welcome). */
export function welcomeName(scene: string): string {
  const slug = sceneSlug(scene)
  return slug ? `${PREFIX}.${slug}` : PREFIX
}

/** The scene of a welcome purpose ('' for the default), or null for another purpose. */
export function sceneOfWelcome(name: string): string | null {
  if (name === PREFIX) return ''
  return name.startsWith(`${PREFIX}.`) ? name.slice(PREFIX.length + 1) : null
}
