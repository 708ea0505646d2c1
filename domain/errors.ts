// The typed errors domain operations throw. They carry facts, not HTTP: plugins/errors.ts maps each class to its
// status and the one-sentence error the API answers with.

export abstract class DomainError extends Error {
  constructor (message: string) {
    super(message)
    this.name = new.target.name
  }
}

export class SessionNotFound extends DomainError { constructor () { super('Session not found') } }
export class GameNotFound extends DomainError { constructor () { super('Game not found') } }
export class SessionGameNotFound extends DomainError { constructor () { super('Session game not found') } }
export class PackNotFound extends DomainError { constructor () { super('Pack not found') } }

export class ActiveSessionExists extends DomainError {
  constructor (readonly activeSessionId: number) { super('An active session already exists') }
}
export class SessionAlreadyClosed extends DomainError { constructor () { super('Session is already closed') } }
export class SessionClosed extends DomainError { constructor () { super('The session is closed') } }
export class SessionStillActive extends DomainError { constructor () { super('The session is active') } }

export class DuplicateGame extends DomainError { constructor () { super('A game with this pack and title exists') } }
export class GameInUse extends DomainError { constructor () { super('The game is referenced by a session or a vote') } }
export class InvalidPlayerRange extends DomainError { constructor () { super('min_players > max_players') } }
export class CsvHeaderMissing extends DomainError {
  constructor (readonly required: readonly string[], readonly missing: readonly string[]) { super('The CSV header lacks columns') }
}
export class NoGamesMatch extends DomainError { constructor () { super('No game matches the filters') } }

export class NoActiveSession extends DomainError { constructor () { super('No active session') } }
export class NoGameAtTime extends DomainError { constructor () { super('No game at that time') } }
export class DuplicateVote extends DomainError { constructor () { super('Duplicate vote') } }

export class NoRoomCode extends DomainError { constructor () { super('The session game has no room code') } }

/** A chat log the import cannot read: `problem` names the row or the part of the body, in the client's words. */
export class ChatLogInvalid extends DomainError {
  constructor (readonly problem: string) { super(problem) }
}
export class NoGamesPlayed extends DomainError { constructor () { super('The session has no games to match votes against') } }

export class TokenNotFound extends DomainError { constructor () { super('Token not found') } }
export class TokenLifetimeOutOfRange extends DomainError {
  constructor (readonly bound: 'long' | 'short') { super(`The token lifetime is too ${bound}`) }
}

export class ChatSourceNotFound extends DomainError { constructor () { super('Chat source not found') } }
export class ChatSourceExists extends DomainError { constructor () { super('A chat source for this platform and channel exists') } }
/** A chat message already counted (re-sent after a reconnect, or read again by a new owner): never counted twice. */
export class VoteAlreadyCounted extends DomainError { constructor () { super('This chat message was counted already') } }
